// The few HTML pages Postern renders itself: who is signed in, signed out,
// and a sign-out confirmation. Self-contained (no external resources), every
// interpolated value escaped, and never a token.
import type { Identity } from './sessions.js';
import { escapeHtml } from '../frontend/html.js';

const STYLE =
  'body{margin:0;font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1f2328;display:flex;min-height:100vh;align-items:center;justify-content:center}' +
  'main{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:2rem 2.5rem;max-width:40rem;margin:1rem}' +
  'h1{margin:0 0 1rem;font-size:1.4rem}th{text-align:left;padding-right:1rem;vertical-align:top;color:#57606a;font-weight:500}' +
  'td{word-break:break-all}a.button,button{display:inline-block;margin-top:1rem;padding:.4rem 1rem;border:1px solid #d0d7de;border-radius:6px;background:#f6f8fa;color:#1f2328;text-decoration:none;font:inherit;cursor:pointer}';

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

/**
 * Content-Security-Policy for our own pages: nothing but inline style, never
 * framed. No form-action: the sign-out form's redirects go on to the
 * authenticate host and the provider, and browsers apply form-action to
 * every hop.
 */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

export function userPage(identity: Identity | null, signOutPath: string, now: number): string {
  if (identity === null) {
    return page('Not signed in', '<h1>Not signed in</h1><p>There is no session for this site.</p>');
  }
  const rows: Array<[string, string]> = [
    ['User', identity.userId],
    ['Email', identity.email],
    ['Name', identity.name],
    ['Groups', identity.groups.join(', ')],
    ['Session', identity.sessionId],
  ];
  if (identity.session) {
    const minutes = Math.max(0, Math.round((identity.session.data.expiresAt - now) / 60_000));
    rows.push(['Session ends', `in ${minutes} min (${new Date(identity.session.data.expiresAt).toISOString()})`]);
  }
  const table = rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  return page(
    'Signed in',
    `<h1>Signed in</h1><table>${table}</table><form method="post" action="${escapeHtml(signOutPath)}"><button type="submit">Sign out</button></form>`,
  );
}

export function signedOutPage(): string {
  return page('Signed out', '<h1>Signed out</h1><p>You have been signed out.</p>');
}

export function confirmSignOutPage(signedUrl: string): string {
  return page(
    'Sign out?',
    `<h1>Sign out?</h1><p>Follow the link to sign out of every site behind this proxy.</p><a class="button" href="${escapeHtml(signedUrl)}">Sign out</a>`,
  );
}

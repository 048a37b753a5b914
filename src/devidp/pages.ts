// The dev IdP's HTML: sign-in form, sign-out confirmation, signed-out and
// error pages. Every value is HTML-escaped; pages load nothing from outside
// (no fonts, no scripts but the one inline sign-out script, allowed by hash).
import { createHash } from 'node:crypto';
import { escapeHtml } from '../frontend/html.js';

/** Content-Security-Policy of every page; `script` adds one inline script by its hash. */
export function contentSecurityPolicy(script?: string): string {
  const scriptSrc = script === undefined ? '' : `; script-src 'sha256-${createHash('sha256').update(script).digest('base64')}'`;
  return `default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'${scriptSrc}`;
}

/** Headers every page is sent with, besides its Content-Security-Policy. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
});

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin:0 0 1rem}label{display:block;margin:.75rem 0}input{display:block;width:100%;box-sizing:border-box;padding:.5rem;margin-top:.25rem;font:inherit}
button{font:inherit;padding:.55rem 1rem;margin:1rem .5rem 0 0;border:0;border-radius:4px;background:#2355d8;color:#fff;cursor:pointer}button.secondary{background:#e3e6ec;color:#1d2330}
.error{background:#fdecea;color:#8a1c12;padding:.5rem .75rem;border-radius:4px}.note{color:#6a7180;font-size:.85rem;margin-top:1.5rem}`;

function layout(title: string, body: string, script?: string): string {
  const scriptTag = script === undefined ? '' : `\n<script>${script}</script>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Postern development IdP</title><style>${STYLE}</style></head>
<body><main>
${body}
<p class="note">Postern development identity provider: for development and tests only.</p>
</main>${scriptTag}
</body></html>`;
}

export interface LoginPageOptions {
  /** The interaction's id: the form posts to /interaction/<uid>/login. */
  readonly uid: string;
  readonly clientId: string;
  /** Prefilled username (a login_hint, or what was typed before a failure). */
  readonly username: string;
  readonly error: string | null;
}

export function loginPage(o: LoginPageOptions): string {
  const error = o.error === null ? '' : `<p class="error" role="alert">${escapeHtml(o.error)}</p>\n`;
  return layout(
    'Sign in',
    `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(o.clientId)}</strong></p>
${error}<form method="post" action="/interaction/${encodeURIComponent(o.uid)}/login">
<label>Username <input name="username" value="${escapeHtml(o.username)}" autocomplete="username" required${o.username === '' ? ' autofocus' : ''}></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required${o.username === '' ? '' : ' autofocus'}></label>
<button type="submit">Sign in</button>
</form>`,
  );
}

/** Clicking the button sends `logout=yes` with the form, which ends the whole session at the provider. */
export const AUTO_SIGN_OUT_SCRIPT = "document.getElementById('sign-out').click();";

/**
 * The sign-out confirmation around oidc-provider's form (`op.logoutForm`,
 * carrying its xsrf token). With `autoSubmit` the page confirms by itself.
 */
export function logoutPage(form: string, autoSubmit: boolean): string {
  return layout(
    'Sign out',
    `<h1>Sign out?</h1>
${form}
<button id="sign-out" type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>
<button class="secondary" type="submit" form="op.logoutForm">Stay signed in</button>`,
    autoSubmit ? AUTO_SIGN_OUT_SCRIPT : undefined,
  );
}

export function messagePage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`);
}

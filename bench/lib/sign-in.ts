// The session cookie the authenticated route is measured with, obtained the
// way a user gets one: the real sign-in flow through Postern and the
// identity provider, once, before the measurement. The browser is the
// integration tests' (test/helpers/browser.ts): a cookie jar that keeps
// cookies as browsers do, redirects followed hop by hop, forms submitted.
import { Browser, type Hop } from '../../test/helpers/browser.js';
import { HELLO_BODY } from './hello.js';
import type { LoadRequest } from './load.js';
import { httpGet } from './servers.js';
import type { BenchUser } from './idp.js';

/** Postern's session cookie (Pomerium's default `cookie_name`). */
export const SESSION_COOKIE = '_pomerium';

/** `v1.<session handle id>.<MAC>`: the signed handle, never the tokens. */
const SESSION_COOKIE_VALUE = /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

// The steps of the flow, in order, as paths the browser must have visited:
// Postern's sign-in on the authenticate host, the provider's login form
// (submitted), Postern's OAuth callback, the route's callback that sets the
// cookie, and finally the page first asked for.
const FLOW_STEPS: readonly { readonly what: string; readonly matches: (hop: Hop) => boolean }[] = [
  { what: 'Postern sign-in', matches: (h) => new URL(h.url).pathname === '/.pomerium/sign_in' },
  { what: 'provider login form (POST)', matches: (h) => h.method === 'POST' && /^\/interaction\/[^/]+\/login$/.test(new URL(h.url).pathname) },
  { what: 'OAuth callback', matches: (h) => new URL(h.url).pathname === '/oauth2/callback' },
  { what: 'route callback', matches: (h) => new URL(h.url).pathname.startsWith('/.pomerium/callback') },
];

function journey(hops: readonly Hop[]): string {
  return hops.map((h) => `  ${h.method} ${h.url} -> ${h.status}${h.location ? ` ${h.location}` : ''}`).join('\n');
}

/**
 * Signs `user` in at `protectedUrl` through the whole flow and returns the
 * value of the session cookie set for the route's host. Throws, with the
 * hops taken, when the flow ends anywhere but at the upstream's answer.
 */
export async function signIn(protectedUrl: string, user: BenchUser): Promise<string> {
  const browser = new Browser();
  const page = await browser.signIn(protectedUrl, user);
  const hops = browser.history;
  if (page.status !== 200 || page.text() !== HELLO_BODY || page.url !== protectedUrl) {
    throw new Error(
      `signing in at ${protectedUrl} ended with ${page.status} at ${page.url}, not the upstream's answer:\n` +
        `${journey(hops)}\n  body: ${page.text().slice(0, 300)}`,
    );
  }
  let at = 0;
  for (const step of FLOW_STEPS) {
    const found = hops.findIndex((hop, i) => i >= at && step.matches(hop));
    if (found === -1) throw new Error(`the sign-in never passed the ${step.what}:\n${journey(hops)}`);
    at = found + 1;
  }
  const cookie = browser.jar.cookiesFor(protectedUrl).find((c) => c.name === SESSION_COOKIE);
  if (cookie === undefined) throw new Error(`the sign-in set no ${SESSION_COOKIE} cookie for ${protectedUrl}:\n${journey(hops)}`);
  if (!SESSION_COOKIE_VALUE.test(cookie.value)) {
    throw new Error(`the ${SESSION_COOKIE} cookie is not v1.<id>.<mac>: ${cookie.value.slice(0, 80)}`);
  }
  return cookie.value;
}

/**
 * Throws unless `request` (the load generator's request to the authenticated
 * route) is answered by the upstream: 200 with its body, not Postern's 401,
 * 302 or error page. `when` says which check this is, for the message.
 */
export async function expectUpstreamAnswer(request: LoadRequest, when: string): Promise<void> {
  const answer = await httpGet(request);
  if (answer.status !== 200 || answer.body !== HELLO_BODY) {
    throw new Error(
      `${when}: the session cookie got ${answer.status} from 127.0.0.1:${request.port} (Host ${request.host}) ` +
        `instead of the upstream's 200 "${HELLO_BODY}": ${answer.body.slice(0, 300)}`,
    );
  }
}

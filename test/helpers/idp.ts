// A real OpenID provider for the integration tests: Postern's dev IdP
// (oidc-provider 9) started in-process on 127.0.0.1 with an ephemeral port,
// the issuer naming the port actually bound. Besides the provider itself:
// - `IdpBrowser`: a cookie-keeping HTTP client that plays the user at the
//   provider (sign-in form, sign-out confirmation) and hands back the URL
//   the provider sends the browser to, so a test can carry on at the proxy;
// - `revokeGrants` / `endSessions`: make a refresh fail, or force a new
//   sign-in, the way an administrator at the provider would;
// - `forgeIdTokens`: rewrite the ID tokens the token endpoint returns (wrong
//   iss, aud, nonce, exp; foreign key; HMAC or `none` algorithms), to play a
//   broken or hostile provider.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type JWK, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { pino } from 'pino';
import { hashPassword } from '../../src/devidp/password.js';
import { generateSigningKey } from '../../src/devidp/keys.js';
import { startDevIdp, type TokenResponse } from '../../src/devidp/server.js';
import type { DevIdpClient, DevIdpUser } from '../../src/devidp/types.js';
import type { Logger } from '../../src/telemetry/logger.js';

export interface TestClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
}

export interface TestUser {
  readonly username: string;
  /** Plain text: the helper hashes it (argon2id) at start. */
  readonly password: string;
  /** Default `<username>@example.com`. */
  readonly email?: string;
  /** Default true. */
  readonly emailVerified?: boolean;
  /** Default the username. */
  readonly name?: string;
  readonly groups?: readonly string[];
}

/** The users a test IdP has unless told otherwise (the same people as the demo). */
export const TEST_USERS: readonly TestUser[] = Object.freeze([
  { username: 'alice', password: 'alice-password', email: 'alice@example.com', name: 'Alice Example', groups: ['admins', 'staff'] },
  { username: 'bob', password: 'bob-password', email: 'bob@example.com', name: 'Bob Example', groups: ['staff'] },
]);

export interface TestIdpOptions {
  readonly clients: readonly TestClient[];
  /** Default TEST_USERS. */
  readonly users?: readonly TestUser[];
  /** Default 600 (10 minutes); a few seconds make a session refresh within a test. */
  readonly accessTokenTtlSeconds?: number;
  /** Default 3600. */
  readonly idTokenTtlSeconds?: number;
  /** Default 86400. */
  readonly refreshTokenTtlSeconds?: number;
  /** Default: silent. */
  readonly logger?: Logger;
}

/** How a forged ID token is signed. */
export type IdTokenSigning =
  /** The provider's own key (valid signature), with `alg` (default RS256: only the claims are wrong). */
  | { readonly with: 'provider-key'; readonly alg?: 'RS256' | 'RS384' | 'RS512' | 'PS256' }
  /** RS256 with a key the provider never published, under the provider key's `kid`. */
  | { readonly with: 'foreign-key' }
  /** HS256 keyed by the provider's public key in PEM: the RS/HS algorithm-confusion attack. */
  | { readonly with: 'hmac-public-key' }
  /** HS256 keyed by the audience client's secret: valid OIDC, but an algorithm Postern must not accept. */
  | { readonly with: 'hmac-client-secret' }
  /** An unsecured JWT (`alg: none`, empty signature). */
  | { readonly with: 'none' };

export interface IdTokenForgery {
  /** New claims from the ones the provider issued (default: unchanged). */
  readonly claims?: (claims: JWTPayload) => JWTPayload;
  /** Default `{ with: 'provider-key' }`. */
  readonly signing?: IdTokenSigning;
}

/** What the provider answered when it did not send the browser elsewhere. */
export interface IdpPage {
  readonly status: number;
  readonly url: string;
  readonly html: string;
}

/** The sign-in did not end in a redirect to the client: wrong password, an error page, a missing form. */
export class IdpLoginError extends Error {
  constructor(
    message: string,
    readonly page: IdpPage,
  ) {
    super(message);
    this.name = 'IdpLoginError';
  }
}

interface Cookie {
  readonly name: string;
  readonly value: string;
  readonly path: string;
}

function parseSetCookie(header: string): { cookie: Cookie; expired: boolean } {
  const [pair = '', ...attributes] = header.split(';');
  const eq = pair.indexOf('=');
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  let path = '/';
  let expired = false;
  for (const attribute of attributes) {
    const [key = '', val = ''] = attribute.split('=', 2).map((s) => s.trim());
    const lower = key.toLowerCase();
    if (lower === 'path' && val.startsWith('/')) path = val;
    else if (lower === 'max-age' && Number(val) <= 0) expired = true;
    else if (lower === 'expires' && Date.parse(val) <= Date.now()) expired = true;
  }
  return { cookie: { name, value, path }, expired };
}

function pathMatches(cookiePath: string, path: string): boolean {
  return path === cookiePath || path.startsWith(cookiePath.endsWith('/') ? cookiePath : `${cookiePath}/`);
}

/** The text of the dev IdP's error message on a page, or the start of the page. */
function pageMessage(html: string): string {
  const m = /<p class="error" role="alert">([^<]*)<\/p>/.exec(html) ?? /<h1>[^<]*<\/h1>\s*<p>([^<]*)<\/p>/.exec(html);
  return m?.[1] ?? html.slice(0, 200);
}

function formAction(html: string, base: string): string | null {
  const m = /<form method="post" action="([^"]+)"/.exec(html);
  return m === null ? null : new URL(m[1]!.replaceAll('&amp;', '&'), base).href;
}

/**
 * A user's browser at the provider: keeps the provider's cookies (so a second
 * authorization is answered without a password, as single sign-on does) and
 * follows redirects while they stay on the provider.
 */
export class IdpBrowser {
  readonly #origin: string;
  readonly #cookies = new Map<string, Cookie>();

  constructor(issuer: string) {
    this.#origin = new URL(issuer).origin;
  }

  #cookieHeader(url: URL): string {
    return [...this.#cookies.values()].filter((c) => pathMatches(c.path, url.pathname)).map((c) => `${c.name}=${c.value}`).join('; ');
  }

  #store(headers: Headers): void {
    for (const header of headers.getSetCookie()) {
      const { cookie, expired } = parseSetCookie(header);
      const key = `${cookie.name};${cookie.path}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, cookie);
    }
  }

  /** True while the browser holds the provider's session cookie. */
  get signedIn(): boolean {
    return [...this.#cookies.values()].some((c) => c.name === '_session');
  }

  /**
   * Requests `url` (GET, or POST of `form`) and follows redirects on the
   * provider. Resolves with the first Location outside the provider, or with
   * the page the provider answered.
   */
  async navigate(url: string, form?: Record<string, string>): Promise<{ readonly location: string } | { readonly page: IdpPage }> {
    let next = new URL(url);
    let body = form === undefined ? undefined : new URLSearchParams(form).toString();
    for (let hop = 0; hop < 20; hop++) {
      if (next.origin !== this.#origin) return { location: next.href };
      const headers: Record<string, string> = { accept: 'text/html' };
      const cookie = this.#cookieHeader(next);
      if (cookie !== '') headers.cookie = cookie;
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await fetch(next, { method: body === undefined ? 'GET' : 'POST', headers, body, redirect: 'manual' });
      this.#store(res.headers);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location !== null) {
        await res.body?.cancel();
        next = new URL(location, next);
        body = undefined;
        continue;
      }
      return { page: { status: res.status, url: next.href, html: await res.text() } };
    }
    throw new Error(`more than 20 redirects from ${url}`);
  }

  /**
   * Follows an authorization URL, signs in with the form when the provider
   * asks, and resolves with the URL the provider sends the browser to (the
   * client's redirect_uri with code and state, or with an error). Throws
   * IdpLoginError when the provider answers with a page instead.
   */
  async login(authorizeUrl: string, username: string, password: string): Promise<string> {
    const first = await this.navigate(authorizeUrl);
    if ('location' in first) return first.location;
    const action = formAction(first.page.html, first.page.url);
    if (action === null) throw new IdpLoginError(`no sign-in form: ${pageMessage(first.page.html)}`, first.page);
    const second = await this.navigate(action, { username, password });
    if ('location' in second) return second.location;
    throw new IdpLoginError(pageMessage(second.page.html), second.page);
  }

  /**
   * Follows an end-session URL and confirms the sign-out as the page would.
   * Resolves with where the provider sends the browser afterwards: the
   * post_logout_redirect_uri (with state), or the provider's own signed-out
   * page.
   */
  async logout(endSessionUrl: string): Promise<string> {
    const first = await this.navigate(endSessionUrl);
    if ('location' in first) return first.location;
    const xsrf = /<input type="hidden" name="xsrf" value="([^"]*)"/.exec(first.page.html)?.[1];
    const action = /<form id="op\.logoutForm" method="post" action="([^"]+)"/.exec(first.page.html)?.[1];
    if (xsrf === undefined || action === undefined) {
      if (first.page.status === 200) return first.page.url;
      throw new IdpLoginError(`sign-out failed: ${pageMessage(first.page.html)}`, first.page);
    }
    const second = await this.navigate(new URL(action, first.page.url).href, { xsrf, logout: 'yes' });
    if ('location' in second) return second.location;
    if (second.page.status !== 200) throw new IdpLoginError(`sign-out failed: ${pageMessage(second.page.html)}`, second.page);
    return second.page.url;
  }
}

export interface TestIdp {
  /** `http://127.0.0.1:<port>`, exactly as in tokens and discovery. */
  readonly issuer: string;
  readonly port: number;
  /** `<issuer>/.well-known/openid-configuration`. */
  readonly discoveryUrl: string;
  /** A new browser (no cookies at the provider). */
  browser(): IdpBrowser;
  /** `browser().login(…)`: signs in with a fresh browser. */
  login(authorizeUrl: string, username: string, password: string): Promise<string>;
  /** Revokes the user's grants: refreshing their tokens fails from now on. Returns how many grants there were. */
  revokeGrants(username: string): number;
  /** Ends the user's sessions at the provider: the next authorization shows the sign-in form again. */
  endSessions(username: string): number;
  /** Rewrites the ID token of every later token response (code and refresh grants); null stops. */
  forgeIdTokens(forgery: IdTokenForgery | null): void;
  close(): Promise<void>;
}

async function toUser(user: TestUser): Promise<DevIdpUser> {
  return {
    username: user.username,
    passwordHash: await hashPassword(user.password),
    email: user.email ?? `${user.username}@example.com`,
    emailVerified: user.emailVerified ?? true,
    name: user.name ?? user.username,
    groups: [...(user.groups ?? [])],
  };
}

function toClient(client: TestClient): DevIdpClient {
  return {
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    redirectUris: [...client.redirectUris],
    postLogoutRedirectUris: [...(client.postLogoutRedirectUris ?? [])],
  };
}

/** Signs forged ID tokens; keys are made once per test IdP. */
class IdTokenForger {
  #foreignKey: Promise<JWK> | undefined;

  constructor(
    private readonly providerKey: JWK,
    private readonly clients: readonly DevIdpClient[],
  ) {}

  async forge(idToken: string, forgery: IdTokenForgery): Promise<string> {
    const issued = decodeJwt(idToken);
    const claims = forgery.claims?.(issued) ?? issued;
    const kid = this.providerKey.kid as string;
    const signing = forgery.signing ?? { with: 'provider-key' };
    const sign = async (header: JWTHeaderParameters, key: KeyObject | Uint8Array | CryptoKey): Promise<string> =>
      new SignJWT(claims).setProtectedHeader({ typ: decodeProtectedHeader(idToken).typ, ...header }).sign(key);
    switch (signing.with) {
      case 'provider-key': {
        const alg = signing.alg ?? 'RS256';
        return sign({ alg, kid }, await importJWK({ ...this.providerKey, alg }, alg));
      }
      case 'foreign-key': {
        this.#foreignKey ??= generateSigningKey();
        return sign({ alg: 'RS256', kid }, await importJWK(await this.#foreignKey, 'RS256'));
      }
      case 'hmac-public-key': {
        const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = this.providerKey;
        const pem = createPublicKey({ key: publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
        return sign({ alg: 'HS256', kid }, new TextEncoder().encode(String(pem)));
      }
      case 'hmac-client-secret': {
        const audience = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
        const client = this.clients.find((c) => c.clientId === audience) ?? this.clients[0]!;
        return sign({ alg: 'HS256' }, new TextEncoder().encode(client.clientSecret));
      }
      case 'none': {
        const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
        return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
      }
    }
  }
}

export async function startTestIdp(opts: TestIdpOptions): Promise<TestIdp> {
  const clients = opts.clients.map(toClient);
  const users = await Promise.all((opts.users ?? TEST_USERS).map(toUser));
  const signingKey = await generateSigningKey();
  const forger = new IdTokenForger(signingKey, clients);
  let forgery: IdTokenForgery | null = null;
  const idp = await startDevIdp(
    {
      issuer: null,
      address: { host: '127.0.0.1', port: 0 },
      clients,
      users,
      accessTokenTtlSeconds: opts.accessTokenTtlSeconds ?? 600,
      idTokenTtlSeconds: opts.idTokenTtlSeconds ?? 3600,
      refreshTokenTtlSeconds: opts.refreshTokenTtlSeconds ?? 86_400,
      keysFile: null,
    },
    {
      logger: opts.logger ?? pino({ level: 'silent' }),
      signingKeys: [signingKey],
      rewriteTokenResponse: async (body: TokenResponse) => {
        const current = forgery;
        if (current === null || typeof body.id_token !== 'string') return body;
        return { ...body, id_token: await forger.forge(body.id_token, current) };
      },
    },
  );
  return {
    issuer: idp.issuer,
    port: idp.port,
    discoveryUrl: `${idp.issuer}/.well-known/openid-configuration`,
    browser: () => new IdpBrowser(idp.issuer),
    login: (authorizeUrl, username, password) => new IdpBrowser(idp.issuer).login(authorizeUrl, username, password),
    revokeGrants: (username) => idp.revokeGrants(username),
    endSessions: (username) => idp.endSessions(username),
    forgeIdTokens: (next) => {
      forgery = next;
    },
    close: () => idp.close(),
  };
}

// Sign-in, sign-out and the session endpoints, the way Pomerium's
// stateful flow does them (reference §5.3) with the gaps closed: an OIDC
// nonce, PKCE always, tokens only in the databroker, one-time callback URLs
// and every redirect target checked.
//
//  route host                      authenticate host                  provider
//  ─ no session → 302 ───────────▶ /.pomerium/sign_in (signed URL)
//                                   no session → 302 (state, nonce, PKCE) ─▶ login
//                                   /oauth2/callback ◀──────────────────────── code
//  /.pomerium/callback/ ◀── 302 ── (signed, one-time, session id sealed to the route host)
//  sets the cookie, 302 to the URL first asked for
import type { HttpResponse } from 'uWebSockets.js';
import type { Config } from '../config/types.js';
import { open, seal } from '../crypto/aead.js';
import { safeEqual } from '../crypto/hmac.js';
import { Errors, type ErrorSpec } from '../errors.js';
import { AsyncResponse } from '../frontend/async-response.js';
import { errorResponse, writeResponse } from '../frontend/respond.js';
import type { ProxyRequest } from '../proxy/request.js';
import { headerValue } from '../proxy/request.js';
import type { Logger } from '../telemetry/logger.js';
import type { AccessRecord } from '../telemetry/access-log.js';
import { clearCookie, readCookies, serializeCookie } from './cookies.js';
import type { CredentialResolver, Credentials } from './credentials.js';
import { IdentityProvider, IdentityProviderRejected } from './identity-provider.js';
import type { IdentityProviders } from './identity-providers.js';
import { isLoopbackHost } from '../net/loopback.js';
import type { AuthKeys } from './keys.js';
import { wantsLoginRedirect } from './login-response.js';
import { confirmSignOutPage, PAGE_CSP, signedOutPage, userPage } from './pages.js';
import { resolveRedirect } from './redirect-target.js';
import { ReplayGuard } from './replay-guard.js';
import type { SessionHandles } from './session-handle.js';
import type { SessionJwts } from './session-jwt.js';
import { identityOfSession, type Identity, type Sessions } from './sessions.js';
import { signedUrlReplayKey, signUrl, verifySignedUrl } from './signed-url.js';

/** How long a login may take at the provider before its state is refused. */
const LOGIN_STATE_TTL_MS = 10 * 60_000;

export interface AuthenticateOptions {
  readonly config: Config;
  readonly keys: AuthKeys;
  readonly providers: IdentityProviders;
  readonly sessions: Sessions;
  readonly handles: SessionHandles;
  readonly jwts: SessionJwts;
  readonly credentials: CredentialResolver;
  /** True for a host some route serves (the only places a session may be handed to). */
  readonly isRouteHost: (hostname: string) => boolean;
  readonly logger: Logger;
  /** Records the answer in the access log. */
  readonly onRequestDone: (record: AccessRecord, status: number, details: string) => void;
}

interface LoginState {
  /** state */
  readonly s: string;
  /** nonce */
  readonly n: string;
  /** PKCE verifier */
  readonly v: string;
  /** issued at, ms */
  readonly t: number;
  /** where the session goes afterwards */
  readonly r: Continuation;
}

interface Continuation {
  readonly redirect: string;
  readonly callback: string;
  readonly programmatic: boolean;
  /** The provider the route signs in with. */
  readonly idpId: string;
}

type Reply = { status: number; headers: string[]; body: string; details: string };

export class AuthenticateService {
  readonly #o: AuthenticateOptions;
  readonly #authUrl: URL;
  readonly #authHost: string;
  readonly #cookieName: string;
  readonly #authCookie: string;
  readonly #csrfCookie: string;
  readonly #replay = new ReplayGuard();

  constructor(options: AuthenticateOptions) {
    this.#o = options;
    this.#authUrl = options.config.authenticateServiceUrl!;
    this.#authHost = this.#authUrl.hostname.toLowerCase();
    this.#cookieName = options.config.cookie.name;
    this.#authCookie = `${this.#cookieName}_authenticate`;
    this.#csrfCookie = `${this.#cookieName}_csrf`;
  }

  /** The host name (no port) of the authenticate service. */
  get host(): string {
    return this.#authHost;
  }

  // ── Answers on route hosts ─────────────────────────────────────────────

  /** 302 to sign in for browser navigations, 401 for everything else; a bad cookie is cleared either way. */
  loginRequired(res: HttpResponse, req: ProxyRequest, creds: Credentials, record: AccessRecord, idpId: string): void {
    const cookies = creds.badCookie ? [this.#clearRouteCookie()] : [];
    if (!creds.fromHeader && wantsLoginRedirect(req.method, req.headers)) {
      const target = this.signInUrl(originalUrl(req), callbackUri(req), false, idpId);
      this.#reply(res, req, record, this.#redirect(target.toString(), cookies, 'login-redirect'));
      return;
    }
    this.#reply(res, req, record, this.#error(req, Errors.UNAUTHENTICATED, cookies));
  }

  signInUrl(redirect: string, callback: string, programmatic: boolean, idpId: string): URL {
    const url = new URL('/.pomerium/sign_in', this.#authUrl);
    url.searchParams.set('pomerium_redirect_uri', redirect);
    url.searchParams.set('pomerium_callback_uri', callback);
    url.searchParams.set('pomerium_idp_id', idpId);
    if (programmatic) url.searchParams.set('pomerium_programmatic', 'true');
    return signUrl(url, this.#o.keys.urlSigning, Date.now());
  }

  /**
   * `/.pomerium/…` on a route host. Returns false when the path is not one
   * of ours (the caller answers 404).
   */
  /** `idpId`: the provider of the route this host serves (for the programmatic login). */
  handleRouteEndpoint(res: HttpResponse, req: ProxyRequest, creds: Credentials, record: AccessRecord, idpId: string): boolean {
    switch (req.path) {
      case '/.pomerium/callback':
      case '/.pomerium/callback/':
        return this.#reply(res, req, record, this.#routeCallback(req));
      case '/.pomerium/sign_out':
        if (req.method !== 'GET' && req.method !== 'POST') return this.#reply(res, req, record, this.#error(req, Errors.METHOD_NOT_ALLOWED));
        this.#routeSignOut(res, req, creds, record);
        return true;
      case '/.pomerium':
      case '/.pomerium/':
        return this.#reply(res, req, record, this.#userPage(creds.identity, req));
      case '/.pomerium/user':
        return this.#reply(res, req, record, this.#userJson(req, creds.identity));
      case '/.pomerium/api/v1/login':
        return this.#reply(res, req, record, this.#programmaticLogin(req, idpId));
      default:
        return false;
    }
  }

  // ── The authenticate host ─────────────────────────────────────────────

  /** Every request to the authenticate host; true when answered. */
  handleAuthenticateHost(res: HttpResponse, req: ProxyRequest, record: AccessRecord): boolean {
    switch (req.path) {
      case '/':
        return this.#reply(res, req, record, this.#redirect('/.pomerium/', [], 'internal'));
      case '/robots.txt':
        return this.#reply(res, req, record, { status: 200, headers: ['content-type', 'text/plain'], body: 'User-agent: *\nDisallow: /\n', details: 'internal' });
      case '/.pomerium/sign_in':
        this.#signIn(res, req, record);
        return true;
      case '/oauth2/callback':
        this.#oauthCallback(res, req, record);
        return true;
      case '/.pomerium/sign_out':
        this.#authSignOut(res, req, record);
        return true;
      case '/.pomerium/signed_out':
        return this.#reply(res, req, record, this.#html(200, signedOutPage(), 'internal'));
      case '/.pomerium':
      case '/.pomerium/':
        return this.#reply(res, req, record, this.#userPage(this.#authIdentity(req, null), req));
      case '/.pomerium/user':
        return this.#reply(res, req, record, this.#userJson(req, this.#authIdentity(req, null)));
      default:
        return this.#reply(res, req, record, this.#error(req, Errors.ENDPOINT_NOT_FOUND));
    }
  }

  #signIn(res: HttpResponse, req: ProxyRequest, record: AccessRecord): void {
    if (req.method !== 'GET') {
      this.#reply(res, req, record, this.#error(req, Errors.METHOD_NOT_ALLOWED));
      return;
    }
    const url = new URL(`${req.path}${req.query ? `?${req.query}` : ''}`, this.#authUrl);
    const verdict = verifySignedUrl(url, this.#o.keys.urlSigning, Date.now());
    if (verdict !== 'ok') {
      this.#reply(res, req, record, this.#error(req, verdict === 'expired' ? Errors.SIGNED_URL_EXPIRED : Errors.SIGNED_URL_INVALID));
      return;
    }
    const continuation = this.#continuationOf(url.searchParams);
    if (continuation === null) {
      this.#reply(res, req, record, this.#error(req, Errors.REDIRECT_NOT_ALLOWED));
      return;
    }
    const existing = this.#authIdentity(req, continuation.idpId);
    if (existing !== null) {
      this.#reply(res, req, record, this.#redirect(this.#routeCallbackUrl(existing.sessionId, continuation).toString(), [], 'sign-in-existing-session'));
      return;
    }
    const reply = new AsyncResponse(res);
    void this.#startLogin(req, continuation).then(
      (r) => this.#send(reply, req, record, r),
      (err: unknown) => this.#send(reply, req, record, this.#providerFailure(req, err)),
    );
  }

  async #startLogin(req: ProxyRequest, continuation: Continuation): Promise<Reply> {
    const request = IdentityProvider.newAuthorizationRequest();
    const provider = this.#o.providers.byId(continuation.idpId)!;
    const target = await provider.authorizationUrl(request);
    const state: LoginState = { s: request.state, n: request.nonce, v: request.codeVerifier, t: Date.now(), r: continuation };
    const sealed = seal(this.#o.keys.state, JSON.stringify(state), this.#csrfCookie);
    const cookie = serializeCookie(this.#csrfCookie, sealed, {
      path: '/oauth2/callback',
      maxAgeSeconds: LOGIN_STATE_TTL_MS / 1000,
      httpOnly: true,
      secure: true,
      // The provider sends the browser back with a top-level GET; Lax lets
      // this cookie ride along while keeping it off cross-site subrequests.
      sameSite: this.#o.config.cookie.sameSite === 'none' ? 'none' : 'lax',
    });
    void req;
    return this.#redirect(target.toString(), [cookie], 'login-start');
  }

  #oauthCallback(res: HttpResponse, req: ProxyRequest, record: AccessRecord): void {
    if (req.method !== 'GET') {
      this.#reply(res, req, record, this.#error(req, Errors.METHOD_NOT_ALLOWED));
      return;
    }
    const params = new URLSearchParams(req.query);
    const clearState = clearCookie(this.#csrfCookie, { path: '/oauth2/callback', httpOnly: true, secure: true, sameSite: 'lax' });
    if (params.has('error')) {
      const error = params.get('error') ?? '';
      this.#o.logger.info({ 'request-id': req.requestId, error, description: params.get('error_description') ?? '' }, 'identity provider refused the login');
      const spec = error === 'access_denied' || error === 'unauthorized_client' ? Errors.LOGIN_DENIED : Errors.LOGIN_FAILED;
      this.#reply(res, req, record, this.#error(req, spec, [clearState]));
      return;
    }
    const state = this.#loginState(req, params.get('state') ?? '');
    if (typeof state === 'object' && 'code' in state) {
      this.#reply(res, req, record, this.#error(req, state, [clearState]));
      return;
    }
    const callbackUrl = new URL(`/oauth2/callback?${req.query}`, this.#authUrl);
    const reply = new AsyncResponse(res);
    void this.#finishLogin(callbackUrl, state, clearState).then(
      (r) => this.#send(reply, req, record, r),
      (err: unknown) => this.#send(reply, req, record, this.#providerFailure(req, err, [clearState])),
    );
  }

  /** The login state from the CSRF cookie, checked against the `state` parameter and its age. */
  #loginState(req: ProxyRequest, stateParam: string): LoginState | ErrorSpec {
    for (const value of readCookies(req.headers, this.#csrfCookie)) {
      const plain = open([this.#o.keys.state], value, this.#csrfCookie);
      if (plain === null) continue;
      let state: LoginState;
      try {
        state = JSON.parse(plain.toString('utf8')) as LoginState;
      } catch {
        continue;
      }
      if (typeof state.s !== 'string' || !safeEqual(Buffer.from(state.s), Buffer.from(stateParam))) continue;
      if (typeof state.t !== 'number' || Date.now() - state.t > LOGIN_STATE_TTL_MS || state.t > Date.now() + 60_000) {
        return Errors.LOGIN_STATE_EXPIRED;
      }
      return state;
    }
    return Errors.LOGIN_STATE_INVALID;
  }

  async #finishLogin(callbackUrl: URL, state: LoginState, clearState: string): Promise<Reply> {
    const provider = this.#o.providers.byId(state.r.idpId);
    if (provider === undefined) throw new IdentityProviderRejected('the sign-in names a provider that is no longer configured');
    const profile = await provider.exchange(callbackUrl, { state: state.s, nonce: state.n, codeVerifier: state.v });
    const session = await this.#o.sessions.create(profile, provider.id);
    this.#o.logger.info({ 'session-id': session.id, user: session.data.userId, email: identityOfSession(session).email }, 'signed in');
    const authCookie = serializeCookie(this.#authCookie, this.#o.handles.issue(session.id), this.#cookieOptions());
    return this.#redirect(this.#routeCallbackUrl(session.id, state.r).toString(), [clearState, authCookie], 'login-complete');
  }

  /** The signed, one-time URL that hands the session to the route host. */
  #routeCallbackUrl(sessionId: string, continuation: Continuation): URL {
    const url = new URL(continuation.callback);
    const host = url.hostname.toLowerCase();
    url.search = '';
    url.searchParams.set('pomerium_session_encrypted', seal(this.#o.keys.callbackSeal, sessionId, `callback|${host}`));
    url.searchParams.set('pomerium_redirect_uri', continuation.redirect);
    if (continuation.programmatic) url.searchParams.set('pomerium_programmatic', 'true');
    return signUrl(url, this.#o.keys.urlSigning, Date.now());
  }

  /** What a verified sign-in URL asks for, if its callback goes to one of our route hosts. */
  #continuationOf(params: URLSearchParams): Continuation | null {
    const callback = resolveRedirect(params.get('pomerium_callback_uri'), (h) => this.#o.isRouteHost(h));
    if (callback === null || (callback.pathname !== '/.pomerium/callback/' && callback.pathname !== '/.pomerium/callback')) return null;
    const redirect = params.get('pomerium_redirect_uri') ?? '';
    const programmatic = params.get('pomerium_programmatic') === 'true';
    // Absent: the global provider (links signed before per-route providers existed).
    const idpId = params.get('pomerium_idp_id') ?? this.#o.providers.default.id;
    if (this.#o.providers.byId(idpId) === undefined) return null;
    return { redirect, callback: callback.toString(), programmatic, idpId };
  }

  #authSignOut(res: HttpResponse, req: ProxyRequest, record: AccessRecord): void {
    if (req.method !== 'GET' && req.method !== 'POST') {
      this.#reply(res, req, record, this.#error(req, Errors.METHOD_NOT_ALLOWED));
      return;
    }
    const url = new URL(`${req.path}${req.query ? `?${req.query}` : ''}`, this.#authUrl);
    if (verifySignedUrl(url, this.#o.keys.urlSigning, Date.now()) !== 'ok') {
      // An unsigned link could sign anyone out from another site; ask first
      // with a link we sign now (Pomerium does the same).
      const signed = signUrl(new URL('/.pomerium/sign_out', this.#authUrl), this.#o.keys.urlSigning, Date.now());
      this.#reply(res, req, record, this.#html(200, confirmSignOutPage(signed.toString()), 'sign-out-confirm'));
      return;
    }
    const sealedToken = url.searchParams.get('pomerium_id_token');
    let idToken = sealedToken ? (open([this.#o.keys.callbackSeal], sealedToken, 'signout')?.toString('utf8') ?? '') : '';
    const identity = this.#authIdentity(req, null);
    if (identity?.session && idToken === '') idToken = identity.session.data.idToken.raw;
    const idpId = url.searchParams.get('pomerium_idp_id') ?? identity?.session?.data.idpId ?? '';
    const provider = this.#o.providers.byId(idpId) ?? this.#o.providers.default;
    const reply = new AsyncResponse(res);
    void (async (): Promise<Reply> => {
      if (identity) await this.#o.sessions.end(identity.sessionId);
      for (const v of readCookies(req.headers, this.#authCookie)) this.#o.handles.forget(v);
      const after = this.#o.config.signoutRedirectUrl || new URL('/.pomerium/signed_out', this.#authUrl).toString();
      let target = after;
      if (idToken !== '') {
        try {
          target = (await provider.endSessionUrl(idToken, after))?.toString() ?? after;
        } catch (err) {
          this.#o.logger.warn({ 'request-id': req.requestId, error: String(err) }, 'provider end-session URL unavailable');
        }
      }
      return this.#redirect(target, [clearCookie(this.#authCookie, this.#cookieOptions())], 'sign-out');
    })().then(
      (r) => this.#send(reply, req, record, r),
      (err: unknown) => this.#send(reply, req, record, this.#providerFailure(req, err)),
    );
  }

  // ── Route-host endpoints ──────────────────────────────────────────────

  #routeCallback(req: ProxyRequest): Reply {
    if (req.method !== 'GET') return this.#error(req, Errors.METHOD_NOT_ALLOWED);
    const url = new URL(`${req.path}${req.query ? `?${req.query}` : ''}`, `${scheme(req)}://${hostHeader(req)}`);
    const verdict = verifySignedUrl(url, this.#o.keys.urlSigning, Date.now());
    if (verdict !== 'ok') return this.#error(req, verdict === 'expired' ? Errors.SIGNED_URL_EXPIRED : Errors.SIGNED_URL_INVALID);
    const once = signedUrlReplayKey(url);
    if (!this.#replay.useOnce(once.id, once.expiresAtMs)) return this.#error(req, Errors.SIGNED_URL_REPLAYED);
    const sealed = url.searchParams.get('pomerium_session_encrypted') ?? '';
    const sessionId = open([this.#o.keys.callbackSeal], sealed, `callback|${req.host}`)?.toString('utf8') ?? null;
    // The session was made for the provider the sign-in URL named, which the
    // proxy chose for this route; the route checks it again on every request.
    const session = sessionId === null ? null : this.#o.sessions.live(sessionId, null);
    if (session === null) return this.#error(req, Errors.SIGNED_URL_INVALID);
    const redirect = url.searchParams.get('pomerium_redirect_uri');
    if (url.searchParams.get('pomerium_programmatic') === 'true') {
      const target = resolveRedirect(redirect, (h) => this.#programmaticAllowed(h));
      if (target === null) return this.#error(req, Errors.REDIRECT_NOT_ALLOWED);
      target.searchParams.set(
        'pomerium_jwt',
        this.#o.jwts.issue({ sessionId: session.id, userId: session.data.userId, issuer: this.#authHost, audience: req.host }, Date.now()),
      );
      return this.#redirect(target.toString(), [], 'programmatic-login');
    }
    // Back to the exact URL first asked for, but only on this host.
    const target = resolveRedirect(redirect, (h) => h === req.host) ?? new URL('/', `${scheme(req)}://${hostHeader(req)}`);
    const cookie = serializeCookie(this.#cookieName, this.#o.handles.issue(session.id), this.#cookieOptions());
    return this.#redirect(target.toString(), [cookie], 'login-callback');
  }

  #routeSignOut(res: HttpResponse, req: ProxyRequest, creds: Credentials, record: AccessRecord): void {
    const identity = creds.fromHeader ? null : creds.identity;
    const idToken = identity?.session?.data.idToken.raw ?? '';
    const reply = new AsyncResponse(res);
    void (async (): Promise<Reply> => {
      // The record goes first: from here on every copy of the cookie, on
      // every host and instance sharing the databroker, is worthless.
      if (identity) await this.#o.sessions.end(identity.sessionId);
      for (const v of readCookies(req.headers, this.#cookieName)) this.#o.handles.forget(v);
      const url = new URL('/.pomerium/sign_out', this.#authUrl);
      if (idToken) url.searchParams.set('pomerium_id_token', seal(this.#o.keys.callbackSeal, idToken, 'signout'));
      if (identity?.session) url.searchParams.set('pomerium_idp_id', identity.session.data.idpId);
      return this.#redirect(signUrl(url, this.#o.keys.urlSigning, Date.now()).toString(), [this.#clearRouteCookie()], 'sign-out');
    })().then(
      (r) => this.#send(reply, req, record, r),
      (err: unknown) => this.#send(reply, req, record, this.#providerFailure(req, err)),
    );
  }

  #programmaticLogin(req: ProxyRequest, idpId: string): Reply {
    if (req.method !== 'GET') return this.#error(req, Errors.METHOD_NOT_ALLOWED);
    const params = new URLSearchParams(req.query);
    const target = resolveRedirect(params.get('pomerium_redirect_uri'), (h) => this.#programmaticAllowed(h));
    if (target === null) return this.#error(req, Errors.REDIRECT_NOT_ALLOWED);
    const url = this.signInUrl(target.toString(), callbackUri(req), true, idpId);
    return { status: 200, headers: ['content-type', 'text/plain; charset=utf-8', 'cache-control', 'no-store'], body: url.toString(), details: 'programmatic-login' };
  }

  /** programmatic_redirect_domain_whitelist; `localhost` stands for every loopback host. */
  #programmaticAllowed(hostname: string): boolean {
    const host = hostname.toLowerCase();
    for (const domain of this.#o.config.programmaticRedirectDomains) {
      if (domain === host) return true;
      if (domain === 'localhost' && isLoopbackHost(host)) return true;
    }
    return false;
  }

  #userPage(identity: Identity | null, req: ProxyRequest): Reply {
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.#error(req, Errors.METHOD_NOT_ALLOWED);
    return this.#html(200, userPage(identity, '/.pomerium/sign_out', Date.now()), 'user-page');
  }

  /** Pomerium's /.pomerium/user: the identity claims, never a token. */
  #userJson(req: ProxyRequest, identity: Identity | null): Reply {
    if (identity === null) return this.#error(req, Errors.UNAUTHENTICATED);
    const body = JSON.stringify({
      sub: identity.userId,
      user: identity.userId,
      email: identity.email,
      groups: identity.groups,
      sid: identity.sessionId,
      name: identity.name,
    });
    return { status: 200, headers: ['content-type', 'application/json', 'cache-control', 'no-store'], body, details: 'user-json' };
  }

  /** The authenticate host's own session, for `idpId` (null: any provider). */
  #authIdentity(req: ProxyRequest, idpId: string | null): Identity | null {
    for (const value of readCookies(req.headers, this.#authCookie)) {
      const id = this.#o.handles.verify(value);
      const record = id === null ? null : this.#o.sessions.live(id, idpId);
      if (record !== null) return identityOfSession(record);
    }
    return null;
  }

  // ── Plumbing ──────────────────────────────────────────────────────────

  #cookieOptions(): Parameters<typeof serializeCookie>[2] {
    const c = this.#o.config.cookie;
    return {
      path: '/',
      ...(c.domain ? { domain: c.domain } : {}),
      maxAgeSeconds: Math.floor(c.expireMs / 1000),
      httpOnly: c.httpOnly,
      // Always Secure, as in Pomerium: a TLS terminator may sit in front of insecure_server.
      secure: true,
      sameSite: c.sameSite,
    };
  }

  #clearRouteCookie(): string {
    return clearCookie(this.#cookieName, this.#cookieOptions());
  }

  #providerFailure(req: ProxyRequest, err: unknown, cookies: string[] = []): Reply {
    const rejected = err instanceof IdentityProviderRejected;
    this.#o.logger.warn({ 'request-id': req.requestId, error: err instanceof Error ? err.message : String(err), rejected }, 'login failed');
    return this.#error(req, rejected ? Errors.LOGIN_FAILED : Errors.IDP_UNAVAILABLE, cookies);
  }

  #redirect(location: string, cookies: readonly string[], details: string): Reply {
    const headers = ['location', location, 'cache-control', 'no-store'];
    for (const c of cookies) headers.push('set-cookie', c);
    return { status: 302, headers, body: '', details };
  }

  #html(status: number, body: string, details: string): Reply {
    return {
      status,
      headers: ['content-type', 'text/html; charset=utf-8', 'cache-control', 'no-store', 'content-security-policy', PAGE_CSP, 'referrer-policy', 'same-origin'],
      body,
      details,
    };
  }

  #error(req: ProxyRequest, spec: ErrorSpec, cookies: readonly string[] = []): Reply {
    const page = errorResponse(spec, req.requestId, headerValue(req.headers, 'accept'), headerValue(req.headers, 'content-type'), []);
    const headers = [...page.headers];
    for (const c of cookies) headers.push('set-cookie', c);
    return { status: page.status, headers, body: page.body, details: spec.code };
  }

  /** Writes a reply from inside the synchronous handler. */
  #reply(res: HttpResponse, req: ProxyRequest, record: AccessRecord, r: Reply): true {
    writeResponse(res, r.status, this.#finalHeaders(req, r), r.body, false, req.method === 'HEAD');
    this.#o.onRequestDone(record, r.status, r.details);
    return true;
  }

  #send(reply: AsyncResponse, req: ProxyRequest, record: AccessRecord, r: Reply): void {
    if (reply.send(r.status, this.#finalHeaders(req, r), r.body, false, req.method === 'HEAD')) this.#o.onRequestDone(record, r.status, r.details);
    else this.#o.onRequestDone(record, 0, 'downstream_remote_disconnect');
  }

  #finalHeaders(req: ProxyRequest, r: Reply): string[] {
    const headers = [...r.headers];
    if (!headers.includes('x-request-id')) headers.push('x-request-id', req.requestId);
    for (const h of this.#o.config.setResponseHeaders) headers.push(h.name, h.value);
    return headers;
  }
}

function scheme(req: ProxyRequest): string {
  return req.secure ? 'https' : 'http';
}

function hostHeader(req: ProxyRequest): string {
  return headerValue(req.headers, 'host') ?? req.host;
}

/** The URL the client asked for, as it asked for it (normalised path). */
export function originalUrl(req: ProxyRequest): string {
  return `${scheme(req)}://${hostHeader(req)}${req.path}${req.query ? `?${req.query}` : ''}`;
}

export function callbackUri(req: ProxyRequest): string {
  return `${scheme(req)}://${hostHeader(req)}/.pomerium/callback/`;
}

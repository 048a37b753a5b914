// A deliberately small OpenID provider for the authentication tests, built
// with jose and node:http on 127.0.0.1. Unlike the development IdP it has no
// login page: its authorization endpoint answers at once with a code (or an
// error) for the current `knobs.user`. The knobs make it misbehave in the
// ways a relying party must survive: ID tokens with a wrong issuer,
// audience or nonce, `alg: none`, HMAC keyed with the client secret, a key
// outside the JWKS, expired or future-dated tokens, short-lived access
// tokens and refused refreshes. It records what it was asked, so a test can
// check what the proxy sent (PKCE, nonce, id_token_hint) and how often it
// refreshed.
//
// It checks what a real provider checks (client authentication, the
// redirect URI, one-time codes, the PKCE verifier, refresh-token rotation):
// a proxy that gets those wrong must fail here too.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** How the ID token of the next code exchange is broken ('none': a correct token). */
export type IdTokenFault =
  | 'none'
  | 'wrong-iss'
  | 'wrong-aud'
  | 'missing-nonce'
  | 'wrong-nonce'
  | 'alg-none'
  | 'hs256-client-secret'
  | 'foreign-key'
  | 'unknown-kid'
  | 'expired'
  | 'iat-future';

export interface FakeUser {
  readonly sub: string;
  readonly email: string;
  readonly name: string;
  readonly groups: readonly string[];
}

/** Behaviour switches; tests change them between logins. */
export interface FakeIdpKnobs {
  user: FakeUser;
  idTokenFault: IdTokenFault;
  /** `expires_in` of every access token. */
  accessTokenTtlSeconds: number;
  idTokenTtlSeconds: number;
  /** What a refresh grant gets: new tokens, or `invalid_grant`. */
  refresh: 'ok' | 'invalid_grant';
  /** When set, the authorization endpoint sends the browser back with `error=<this>` instead of a code. */
  authorizeError: string | null;
  /** When set, the authorization endpoint returns this `state` instead of the one it was given. */
  stateOverride: string | null;
  /** `id_token_signing_alg_values_supported` in the discovery document. */
  advertisedAlgorithms: readonly string[];
}

export interface FakeIdpLog {
  /** Query of every authorization request, in order. */
  readonly authorize: URLSearchParams[];
  /** Body of every token request (either grant), in order. */
  readonly token: URLSearchParams[];
  /** Access tokens presented to the UserInfo endpoint, in order. */
  readonly userinfo: string[];
  /** Query of every end-session request. */
  readonly endSession: URLSearchParams[];
  /** Refresh grants answered with new tokens. */
  refreshGrants: number;
  /** Refresh grants answered with `invalid_grant` (knob or unknown token). */
  refusedRefreshes: number;
  /** Refresh tokens presented again after they had been rotated away (a refresher racing itself). */
  refreshTokenReuse: number;
  /** Every access, refresh and ID token handed out: none of them may ever reach an upstream. */
  readonly issued: string[];
}

export interface FakeIdpOptions {
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly knobs?: Partial<FakeIdpKnobs>;
}

export interface FakeIdp {
  /** `http://127.0.0.1:<port>`, the issuer and the base of every endpoint. */
  readonly issuer: string;
  readonly port: number;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly knobs: FakeIdpKnobs;
  readonly log: FakeIdpLog;
  close(): Promise<void>;
}

export const DEFAULT_USER: FakeUser = Object.freeze({
  sub: 'alice',
  email: 'alice@example.com',
  name: 'Alice Example',
  groups: Object.freeze(['engineering', 'admins']),
});

interface CodeGrant {
  readonly user: FakeUser;
  readonly nonce: string | null;
  readonly redirectUri: string;
  readonly codeChallenge: string | null;
  readonly codeChallengeMethod: string | null;
  readonly fault: IdTokenFault;
}

const KID = 'fake-idp-1';

function token(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The client credentials of a token request: HTTP Basic or form fields (client_secret_basic / _post). */
function clientCredentials(req: IncomingMessage, form: URLSearchParams): { id: string; secret: string } | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  }
  const id = form.get('client_id');
  const secret = form.get('client_secret');
  return id !== null && secret !== null ? { id, secret } : null;
}

export async function startFakeIdp(opts: FakeIdpOptions = {}): Promise<FakeIdp> {
  const clientId = opts.clientId ?? 'postern-test';
  const clientSecret = opts.clientSecret ?? token(32);
  const knobs: FakeIdpKnobs = {
    user: DEFAULT_USER,
    idTokenFault: 'none',
    accessTokenTtlSeconds: 3600,
    idTokenTtlSeconds: 3600,
    refresh: 'ok',
    authorizeError: null,
    stateOverride: null,
    advertisedAlgorithms: ['RS256'],
    ...opts.knobs,
  };
  const log: FakeIdpLog = { authorize: [], token: [], userinfo: [], endSession: [], refreshGrants: 0, refusedRefreshes: 0, refreshTokenReuse: 0, issued: [] };

  const signing = await generateKeyPair('RS256', { extractable: true });
  // Same kid as the real key: only the signature check can tell them apart.
  const foreign = await generateKeyPair('RS256');
  const publicJwk: JWK = { ...(await exportJWK(signing.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };

  const codes = new Map<string, CodeGrant>();
  const accessTokens = new Map<string, FakeUser>();
  const refreshTokens = new Map<string, FakeUser>();
  const spentRefreshTokens = new Set<string>();

  let issuer = '';

  async function idToken(user: FakeUser, nonce: string | null, fault: IdTokenFault): Promise<string> {
    const jwt = await signedIdToken(user, nonce, fault);
    log.issued.push(jwt);
    return jwt;
  }

  async function signedIdToken(user: FakeUser, nonce: string | null, fault: IdTokenFault): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims: JWTPayload & Record<string, unknown> = {
      iss: fault === 'wrong-iss' ? `${issuer}/other` : issuer,
      sub: user.sub,
      aud: fault === 'wrong-aud' ? 'someone-else' : clientId,
      iat: fault === 'iat-future' ? now + 24 * 3600 : fault === 'expired' ? now - 7200 : now,
      exp: fault === 'expired' ? now - 3600 : now + knobs.idTokenTtlSeconds,
      email: user.email,
      email_verified: true,
      name: user.name,
      groups: [...user.groups],
    };
    if (fault === 'wrong-nonce') claims.nonce = token();
    else if (nonce !== null && fault !== 'missing-nonce') claims.nonce = nonce;
    switch (fault) {
      case 'alg-none': {
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
        return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
      }
      case 'hs256-client-secret':
        return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(clientSecret));
      default: {
        const key: CryptoKey = fault === 'foreign-key' || fault === 'unknown-kid' ? foreign.privateKey : signing.privateKey;
        const kid = fault === 'unknown-kid' ? 'not-in-the-jwks' : KID;
        return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(key);
      }
    }
  }

  function issueAccessToken(user: FakeUser): string {
    const at = token();
    accessTokens.set(at, user);
    log.issued.push(at);
    return at;
  }

  function issueRefreshToken(user: FakeUser): string {
    const rt = token();
    refreshTokens.set(rt, user);
    log.issued.push(rt);
    return rt;
  }

  function authorize(url: URL, res: ServerResponse): void {
    const q = url.searchParams;
    log.authorize.push(new URLSearchParams(q));
    const redirectUri = q.get('redirect_uri');
    if (q.get('client_id') !== clientId || redirectUri === null || q.get('response_type') !== 'code') {
      // An unknown client or redirect URI must never be redirected to.
      sendJson(res, 400, { error: 'invalid_request' });
      return;
    }
    const back = new URL(redirectUri);
    const state = knobs.stateOverride ?? q.get('state');
    if (knobs.authorizeError !== null) {
      back.searchParams.set('error', knobs.authorizeError);
      back.searchParams.set('error_description', 'the fake provider was told to refuse');
    } else {
      const code = token();
      codes.set(code, {
        user: knobs.user,
        nonce: q.get('nonce'),
        redirectUri,
        codeChallenge: q.get('code_challenge'),
        codeChallengeMethod: q.get('code_challenge_method'),
        fault: knobs.idTokenFault,
      });
      back.searchParams.set('code', code);
    }
    if (state !== null) back.searchParams.set('state', state);
    redirect(res, back.toString());
  }

  async function tokenEndpoint(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    log.token.push(form);
    const client = clientCredentials(req, form);
    if (client === null || client.id !== clientId || client.secret !== clientSecret) {
      sendJson(res, 401, { error: 'invalid_client' });
      return;
    }
    if (form.get('grant_type') === 'authorization_code') {
      const code = form.get('code') ?? '';
      const grant = codes.get(code);
      codes.delete(code);
      if (grant === undefined || form.get('redirect_uri') !== grant.redirectUri) {
        sendJson(res, 400, { error: 'invalid_grant' });
        return;
      }
      if (grant.codeChallenge !== null) {
        const verifier = form.get('code_verifier') ?? '';
        const computed = createHash('sha256').update(verifier).digest('base64url');
        if (grant.codeChallengeMethod !== 'S256' || computed !== grant.codeChallenge) {
          sendJson(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
          return;
        }
      }
      sendJson(res, 200, {
        access_token: issueAccessToken(grant.user),
        token_type: 'Bearer',
        expires_in: knobs.accessTokenTtlSeconds,
        refresh_token: issueRefreshToken(grant.user),
        id_token: await idToken(grant.user, grant.nonce, grant.fault),
        scope: 'openid profile email',
      });
      return;
    }
    if (form.get('grant_type') === 'refresh_token') {
      const presented = form.get('refresh_token') ?? '';
      if (spentRefreshTokens.has(presented)) log.refreshTokenReuse++;
      const user = refreshTokens.get(presented);
      if (user === undefined || knobs.refresh === 'invalid_grant') {
        log.refusedRefreshes++;
        sendJson(res, 400, { error: 'invalid_grant', error_description: 'refresh token refused' });
        return;
      }
      // Rotation, as most providers do: the old refresh token is spent.
      refreshTokens.delete(presented);
      spentRefreshTokens.add(presented);
      log.refreshGrants++;
      sendJson(res, 200, {
        access_token: issueAccessToken(user),
        token_type: 'Bearer',
        expires_in: knobs.accessTokenTtlSeconds,
        refresh_token: issueRefreshToken(user),
        id_token: await idToken(user, null, 'none'),
      });
      return;
    }
    sendJson(res, 400, { error: 'unsupported_grant_type' });
  }

  function userinfo(req: IncomingMessage, res: ServerResponse): void {
    const auth = req.headers.authorization ?? '';
    const at = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    log.userinfo.push(at);
    const user = accessTokens.get(at);
    if (user === undefined) {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-length': 0 });
      res.end();
      return;
    }
    sendJson(res, 200, { sub: user.sub, email: user.email, email_verified: true, name: user.name, groups: [...user.groups] });
  }

  function endSession(url: URL, res: ServerResponse): void {
    log.endSession.push(new URLSearchParams(url.searchParams));
    const after = url.searchParams.get('post_logout_redirect_uri');
    if (after !== null) {
      redirect(res, after);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': 20 });
    res.end('<p>signed out</p>\n\n');
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const route = `${req.method} ${url.pathname}`;
    const fail = (err: unknown): void => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(err) });
      else res.destroy();
    };
    try {
      switch (route) {
        case 'GET /.well-known/openid-configuration':
          sendJson(res, 200, {
            issuer,
            authorization_endpoint: `${issuer}/authorize`,
            token_endpoint: `${issuer}/token`,
            userinfo_endpoint: `${issuer}/userinfo`,
            jwks_uri: `${issuer}/jwks`,
            end_session_endpoint: `${issuer}/end_session`,
            response_types_supported: ['code'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: [...knobs.advertisedAlgorithms],
            code_challenge_methods_supported: ['S256'],
            token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
            grant_types_supported: ['authorization_code', 'refresh_token'],
            scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
          });
          return;
        case 'GET /jwks':
          sendJson(res, 200, { keys: [publicJwk] });
          return;
        case 'GET /authorize':
          authorize(url, res);
          return;
        case 'POST /token':
          tokenEndpoint(req, res).catch(fail);
          return;
        case 'GET /userinfo':
        case 'POST /userinfo':
          userinfo(req, res);
          return;
        case 'GET /end_session':
          endSession(url, res);
          return;
        default:
          sendJson(res, 404, { error: 'not_found' });
      }
    } catch (err) {
      fail(err);
    }
  });
  server.keepAliveTimeout = 2_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  issuer = `http://127.0.0.1:${port}`;

  return {
    issuer,
    port,
    clientId,
    clientSecret,
    knobs,
    log,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

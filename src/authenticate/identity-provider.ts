// The OpenID Connect relying party: discovery, the authorization URL, the
// code exchange with every check (state, PKCE S256, nonce, and the ID
// token's signature, algorithm, iss, aud, exp and iat), refresh, UserInfo
// and the end-session URL. openid-client does the protocol; this file
// decides the policy: which algorithms are acceptable, when plain http is
// tolerated, and what a "profile" is for the rest of Postern.
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import type { IdpOptions } from '../config/types.js';
import { isLoopbackHost } from '../net/loopback.js';
import type { Claims } from './records.js';

/** Asymmetric algorithms only: never `none`, never an HMAC keyed with something public. */
const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256', 'PS256', 'EdDSA', 'Ed25519', 'ES384', 'RS384', 'PS384', 'ES512', 'RS512', 'PS512'];
const DISCOVERY_TIMEOUT_S = 10;
/** Tolerated clock difference with the provider. */
const CLOCK_SKEW_S = 60;

/** What a completed login or refresh yields. */
export interface IdentityProfile {
  readonly subject: string;
  readonly issuer: string;
  readonly idToken: string;
  /** Seconds since the epoch. */
  readonly idTokenIssuedAt: number;
  readonly idTokenExpiresAt: number;
  readonly accessToken: string;
  readonly tokenType: string;
  /** Milliseconds since the epoch; 0 when the provider said nothing. */
  readonly accessTokenExpiresAt: number;
  readonly refreshToken: string;
  /** ID token claims merged with UserInfo (UserInfo wins for profile fields), protocol claims removed. */
  readonly claims: Claims;
}

export interface AuthorizationRequest {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

/** The provider said no (an OAuth error, a token that fails a check): never retry blindly. */
export class IdentityProviderRejected extends Error {
  override readonly name = 'IdentityProviderRejected';
}

const PROTOCOL_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'at_hash', 'c_hash', 'azp', 'auth_time', 'acr', 'amr', 'sid', 'jti']);

/** Stable id of one provider configuration; a session is valid only for the provider that created it. */
export function identityProviderId(idp: IdpOptions): string {
  return createHash('sha256').update(`${idp.providerUrl}\0${idp.clientId}`).digest('hex').slice(0, 16);
}

export class IdentityProvider {
  readonly id: string;
  readonly redirectUri: string;
  readonly #options: IdpOptions;
  #config: Promise<oidc.Configuration> | null = null;

  constructor(options: IdpOptions, redirectUri: string) {
    this.#options = options;
    this.redirectUri = redirectUri;
    this.id = identityProviderId(options);
    const issuer = new URL(options.providerUrl);
    if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname))) {
      throw new Error(`idp_provider_url must be https (plain http only on loopback): ${options.providerUrl}`);
    }
  }

  /**
   * The discovered configuration. Discovery runs on first use and again
   * after a failure, so a provider that is down at start-up does not keep
   * Postern from starting or from recovering.
   */
  configuration(): Promise<oidc.Configuration> {
    if (!this.#config) {
      this.#config = this.#discover();
      this.#config.catch(() => {
        this.#config = null;
      });
    }
    return this.#config;
  }

  async #discover(): Promise<oidc.Configuration> {
    const issuer = new URL(this.#options.providerUrl);
    const insecure = issuer.protocol === 'http:';
    const options: oidc.DiscoveryRequestOptions = { timeout: DISCOVERY_TIMEOUT_S };
    if (insecure) options.execute = [oidc.allowInsecureRequests];
    // First discover without an algorithm preference to learn what the
    // provider signs with, then pin exactly one acceptable algorithm.
    const probe = await oidc.discovery(issuer, this.#options.clientId, this.#options.clientSecret, undefined, options);
    const supported = probe.serverMetadata().id_token_signing_alg_values_supported ?? ['RS256'];
    const alg = ASYMMETRIC_ALGORITHMS.find((a) => supported.includes(a));
    if (!alg) {
      throw new IdentityProviderRejected(
        `the provider offers no acceptable ID token algorithm (it lists ${supported.join(', ') || 'none'}; Postern accepts ${ASYMMETRIC_ALGORITHMS.join(', ')})`,
      );
    }
    const config = new oidc.Configuration(probe.serverMetadata(), this.#options.clientId, {
      client_secret: this.#options.clientSecret,
      id_token_signed_response_alg: alg,
    });
    if (insecure) oidc.allowInsecureRequests(config);
    // openid-client trusts an ID token from the token endpoint on the
    // strength of TLS alone unless told otherwise; Postern checks its
    // signature against the provider's JWKS, with the one pinned algorithm.
    oidc.enableNonRepudiationChecks(config);
    return config;
  }

  /** A fresh state, nonce and PKCE verifier for one login. */
  static newAuthorizationRequest(): AuthorizationRequest {
    return { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier() };
  }

  async authorizationUrl(request: AuthorizationRequest): Promise<URL> {
    const config = await this.configuration();
    const params: Record<string, string> = {
      ...this.#options.requestParams,
      redirect_uri: this.redirectUri,
      response_type: 'code',
      scope: this.#options.scopes.join(' '),
      state: request.state,
      nonce: request.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(request.codeVerifier),
      code_challenge_method: 'S256',
    };
    return oidc.buildAuthorizationUrl(config, params);
  }

  /** Exchanges the code from the callback URL; every check failure is an IdentityProviderRejected. */
  async exchange(callbackUrl: URL, request: AuthorizationRequest): Promise<IdentityProfile> {
    const config = await this.configuration();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: request.codeVerifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw rejectedOr(err);
    }
    return this.#profile(config, tokens, null);
  }

  /** Uses the refresh token; an OAuth error (revoked, expired grant) is an IdentityProviderRejected. */
  async refresh(refreshToken: string, previous: IdentityProfile | null): Promise<IdentityProfile> {
    const config = await this.configuration();
    let tokens: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
    try {
      tokens = await oidc.refreshTokenGrant(config, refreshToken);
    } catch (err) {
      throw rejectedOr(err);
    }
    return this.#profile(config, tokens, previous);
  }

  async endSessionUrl(idTokenHint: string, postLogoutRedirectUri: string): Promise<URL | null> {
    const config = await this.configuration();
    if (!config.serverMetadata().end_session_endpoint) return null;
    const params: Record<string, string> = { client_id: this.#options.clientId };
    if (idTokenHint) params.id_token_hint = idTokenHint;
    if (postLogoutRedirectUri) params.post_logout_redirect_uri = postLogoutRedirectUri;
    return oidc.buildEndSessionUrl(config, params);
  }

  async #profile(
    config: oidc.Configuration,
    tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
    previous: IdentityProfile | null,
  ): Promise<IdentityProfile> {
    const idClaims = tokens.claims();
    // A refresh may come without a new ID token; the previous one stays.
    if (!idClaims && !previous) throw new IdentityProviderRejected('the provider returned no ID token');
    // openid-client accepts any iat; a token issued in the future was not
    // issued by a provider whose clock we can trust.
    if (idClaims && idClaims.iat > Date.now() / 1000 + CLOCK_SKEW_S) throw new IdentityProviderRejected('the ID token was issued in the future');
    const subject = idClaims ? idClaims.sub : previous!.subject;
    if (previous && subject !== previous.subject) throw new IdentityProviderRejected('the refreshed ID token names another subject');
    const claims: Record<string, unknown> = { ...(previous?.claims ?? {}) };
    if (idClaims) for (const [k, v] of Object.entries(idClaims)) if (!PROTOCOL_CLAIMS.has(k)) claims[k] = v;
    if (config.serverMetadata().userinfo_endpoint) {
      try {
        const info = await oidc.fetchUserInfo(config, tokens.access_token, subject);
        for (const [k, v] of Object.entries(info)) if (!PROTOCOL_CLAIMS.has(k)) claims[k] = v;
      } catch {
        // UserInfo is an enrichment: the ID token has already been verified,
        // and a provider whose UserInfo fails must not block every login.
      }
    }
    const expiresIn = tokens.expiresIn();
    return {
      subject,
      issuer: idClaims ? idClaims.iss : previous!.issuer,
      idToken: tokens.id_token ?? previous!.idToken,
      idTokenIssuedAt: idClaims ? idClaims.iat : previous!.idTokenIssuedAt,
      idTokenExpiresAt: idClaims ? idClaims.exp : previous!.idTokenExpiresAt,
      accessToken: tokens.access_token,
      tokenType: tokens.token_type ?? 'Bearer',
      accessTokenExpiresAt: expiresIn !== undefined ? Date.now() + expiresIn * 1000 : 0,
      refreshToken: tokens.refresh_token ?? previous?.refreshToken ?? '',
      claims,
    };
  }
}

/**
 * openid-client throws ResponseBodyError / AuthorizationResponseError for
 * answers from the provider and ClientError (or plain errors) for failed
 * checks and for transport problems. Only a transport problem (the provider
 * unreachable or timing out) is transient: callers may retry it; every
 * other failure is a rejection and must end the login or the session.
 */
function rejectedOr(err: unknown): Error {
  if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) {
    return new IdentityProviderRejected(`${err.error}${err.error_description ? `: ${err.error_description}` : ''}`, { cause: err });
  }
  if (isTransport(err)) return err instanceof Error ? err : new Error(String(err));
  return new IdentityProviderRejected(err instanceof Error ? err.message : String(err), { cause: err });
}

const TRANSPORT_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND|UND_ERR_|ABORT_ERR|TimeoutError|AbortError)/;

function isTransport(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const x = e as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof x.code === 'string' && TRANSPORT_CODES.test(x.code)) return true;
    if (typeof x.name === 'string' && (x.name === 'TimeoutError' || x.name === 'AbortError')) return true;
    if (e instanceof TypeError && x.message === 'fetch failed') return true;
  }
  return false;
}

// The validated configuration of the development identity provider
// (`postern dev-idp --config FILE`). Tests and the demo build it directly.
import type { ListenAddress } from '../config/types.js';

/** A confidential client; it may send its secret in HTTP Basic auth or in the token request's body. */
export interface DevIdpClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Exact redirect URIs; the authorization request must name one of them. */
  readonly redirectUris: readonly string[];
  /** Where RP-initiated logout may send the browser afterwards. */
  readonly postLogoutRedirectUris: readonly string[];
}

export interface DevIdpUser {
  /** What the user types to sign in (matched without regard to case) and the `sub` claim. */
  readonly username: string;
  /** An argon2id PHC string, as printed by `postern hash-password`. */
  readonly passwordHash: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly name: string;
  readonly groups: readonly string[];
}

export interface DevIdpConfig {
  /**
   * The issuer identifier, an origin such as `http://127.0.0.1:9000`; it must be
   * exactly what clients are configured with. null: `http://` + the bound
   * address, with the port actually bound (so port 0 works).
   */
  readonly issuer: string | null;
  /** A loopback IP literal and a port (0: any free port). */
  readonly address: ListenAddress;
  readonly clients: readonly DevIdpClient[];
  readonly users: readonly DevIdpUser[];
  readonly accessTokenTtlSeconds: number;
  readonly idTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  /** Private signing keys (a JWKS) kept across restarts; null: fresh keys at every start. */
  readonly keysFile: string | null;
}

export const DEFAULT_ADDRESS: ListenAddress = Object.freeze({ host: '127.0.0.1', port: 9000 });
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 10 * 60;
export const DEFAULT_ID_TOKEN_TTL_SECONDS = 60 * 60;
export const DEFAULT_REFRESH_TOKEN_TTL_SECONDS = 24 * 60 * 60;

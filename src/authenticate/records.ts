// The records authentication keeps in the databroker. Tokens live only
// here, never in a cookie or a URL; the browser holds an opaque handle.

export const SESSION = 'session';
export const USER = 'user';
export const SERVICE_ACCOUNT = 'service_account';

/** Flattened identity claims (ID token merged with UserInfo). */
export type Claims = Readonly<Record<string, unknown>>;

export interface SessionData {
  /** The user's id: the ID token's `sub`. */
  readonly userId: string;
  /** Which identity provider configuration created it (issuer + client id digest). */
  readonly idpId: string;
  /** Milliseconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly idToken: {
    readonly raw: string;
    readonly issuer: string;
    readonly subject: string;
    readonly issuedAt: number;
    readonly expiresAt: number;
  };
  readonly oauth: {
    readonly accessToken: string;
    readonly tokenType: string;
    /** Milliseconds since the epoch; 0 when the provider gave no expiry. */
    readonly expiresAt: number;
    /** '' when the provider gave none. */
    readonly refreshToken: string;
  };
  readonly claims: Claims;
  /** Last successful refresh (ms), 0 before the first. */
  readonly refreshedAt: number;
}

export interface UserData {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly claims: Claims;
}

export interface ServiceAccountData {
  readonly name: string;
  /** The identity it acts as (PPL `user`), e.g. `sa:ci-deploy`. */
  readonly userId: string;
  readonly email: string;
  /** hex HMAC-SHA256(pepper, secret): the token itself is never stored. */
  readonly keyHash: string;
  readonly createdAt: number;
  /** Milliseconds since the epoch; 0 = never. */
  readonly expiresAt: number;
}

// X-Pomerium-Jwt-Assertion, signed once per (session, host, issuer format)
// and reused until shortly before it expires: an ES256 signature costs tens
// of µs, a cache hit a map lookup. A token is signed afresh when less than a
// minute of its 5 is left, when the clock has gone back past its iat, or when
// what it says about the caller has changed (the session record's version,
// or the user id, email, name or groups Postern resolved for the request).
// The claims are those of a token Pomerium would sign at the same moment;
// only the jti repeats while a token is reused.
import { randomUUID } from 'node:crypto';
import type { Identity } from '../authenticate/sessions.js';
import type { ClaimHeader, JwtIssuerFormat, Route } from '../config/types.js';
import { claimHeaderValues, extraClaimsOf } from './claim-headers.js';
import { ASSERTION_LIFETIME_S, assertionClaims, payloadJson } from './claims.js';
import { CompactSigner } from './jws.js';
import type { SigningKey } from './signing-keys.js';

export interface SignedAssertion {
  /** The X-Pomerium-Jwt-Assertion value. */
  readonly token: string;
  /** jwt_claims_headers for the same claims: flat `[lname, value, …]`, configuration order. */
  readonly claimHeaders: readonly string[];
}

export interface AssertionSignerOptions {
  /** `jwt_claims_headers`: their non-standard claims join the payload. */
  readonly claimHeaders: readonly ClaimHeader[];
  /** The global `jwt_issuer_format`; a route's own wins. */
  readonly issuerFormat: JwtIssuerFormat;
  /** Sessions whose tokens are kept; beyond it the longest-unsigned session is dropped. Default 10 000. */
  readonly maxSessions?: number;
}

/** Re-sign when less than this is left, so an upstream never receives a token about to expire in transit. */
export const REFRESH_BEFORE_EXPIRY_MS = 60_000;
/** Distinct hosts (× issuer formats) remembered per session; a session rarely visits more. */
const MAX_ENTRIES_PER_SESSION = 16;
const DEFAULT_MAX_SESSIONS = 10_000;
/** Identities without a session record (service accounts, nobody) have no version to compare. */
const NO_VERSION = -1;

interface Entry {
  readonly host: string;
  readonly format: JwtIssuerFormat;
  readonly signed: SignedAssertion;
  readonly issuedAtMs: number;
  readonly refreshAtMs: number;
  // What the token says about the caller, to notice a change without re-deriving the claims.
  readonly version: number;
  readonly userId: string;
  readonly email: string;
  readonly name: string;
  readonly groups: readonly string[];
}

export class AssertionSigner {
  readonly #signer: CompactSigner;
  readonly #claimHeaders: readonly ClaimHeader[];
  readonly #extraClaims: readonly string[];
  readonly #issuerFormat: JwtIssuerFormat;
  readonly #maxSessions: number;
  /** Session id ('' for nobody) → its tokens. Insertion order is signing order: the first key is the stalest. */
  readonly #sessions = new Map<string, Entry[]>();

  /** `keys[0]` signs. */
  constructor(keys: readonly SigningKey[], opts: AssertionSignerOptions) {
    const first = keys[0];
    if (first === undefined) throw new TypeError('AssertionSigner needs a signing key');
    this.#signer = new CompactSigner(first);
    this.#claimHeaders = opts.claimHeaders;
    this.#extraClaims = extraClaimsOf(opts.claimHeaders);
    this.#issuerFormat = opts.issuerFormat;
    this.#maxSessions = Math.max(1, opts.maxSessions ?? DEFAULT_MAX_SESSIONS);
  }

  /**
   * The assertion for `identity` (null: nobody is signed in) on `route`, at
   * `host`: the request's host, lower-case, without port (ProxyRequest.host).
   */
  assertionFor(identity: Identity | null, route: Route, host: string, nowMs: number): SignedAssertion {
    const sessionId = identity === null ? '' : identity.sessionId;
    // `??` rather than `!== null`: Route objects built by hand may lack the field.
    const format = route.jwtIssuerFormat ?? this.#issuerFormat;
    const entries = this.#sessions.get(sessionId);
    if (entries !== undefined) {
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i] as Entry;
        if (e.host !== host || e.format !== format) continue;
        if (nowMs < e.refreshAtMs && nowMs >= e.issuedAtMs && saysSame(e, identity)) return e.signed;
        const fresh = this.#sign(identity, host, format, nowMs);
        entries[i] = fresh;
        this.#touch(sessionId, entries);
        return fresh.signed;
      }
    }
    const fresh = this.#sign(identity, host, format, nowMs);
    if (entries === undefined) {
      this.#touch(sessionId, [fresh]);
    } else {
      if (entries.length >= MAX_ENTRIES_PER_SESSION) entries.shift();
      entries.push(fresh);
      this.#touch(sessionId, entries);
    }
    return fresh.signed;
  }

  #sign(identity: Identity | null, host: string, format: JwtIssuerFormat, nowMs: number): Entry {
    const iat = Math.floor(nowMs / 1000);
    const claims = assertionClaims(identity, host, format, this.#extraClaims, iat, randomUUID());
    const signed: SignedAssertion = {
      token: this.#signer.sign(payloadJson(claims)),
      claimHeaders: claimHeaderValues(this.#claimHeaders, claims),
    };
    return {
      host,
      format,
      signed,
      issuedAtMs: iat * 1000,
      refreshAtMs: (iat + ASSERTION_LIFETIME_S) * 1000 - REFRESH_BEFORE_EXPIRY_MS,
      version: identity?.session?.version ?? NO_VERSION,
      userId: identity?.userId ?? '',
      email: identity?.email ?? '',
      name: identity?.name ?? '',
      groups: identity?.groups ?? [],
    };
  }

  /** Marks the session freshly signed (moves it last) and drops the stalest beyond the bound. */
  #touch(sessionId: string, entries: Entry[]): void {
    this.#sessions.delete(sessionId);
    this.#sessions.set(sessionId, entries);
    if (this.#sessions.size > this.#maxSessions) {
      const stalest = this.#sessions.keys().next().value as string;
      this.#sessions.delete(stalest);
    }
  }
}

function saysSame(e: Entry, identity: Identity | null): boolean {
  if (identity === null) return e.version === NO_VERSION && e.userId === '' && e.groups.length === 0;
  if (e.version !== (identity.session?.version ?? NO_VERSION)) return false;
  if (e.userId !== identity.userId || e.email !== identity.email || e.name !== identity.name) return false;
  const groups = identity.groups;
  if (e.groups === groups) return true;
  if (e.groups.length !== groups.length) return false;
  for (let i = 0; i < groups.length; i++) if (e.groups[i] !== groups[i]) return false;
  return true;
}

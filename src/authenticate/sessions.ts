// Sessions: creating them from a completed login, finding the one a
// request carries, and ending them. The request path only reads the
// in-process databroker replica and checks a MAC (cached), so an
// authenticated request costs no network round trip.
import type { Databroker, DataRecord } from '../databroker/types.js';
import { randomId } from '../crypto/random.js';
import type { IdentityProfile } from './identity-provider.js';
import { SESSION, USER, type SessionData, type UserData } from './records.js';

/** Who is calling, as the rest of the pipeline sees it. */
export interface Identity {
  readonly kind: 'session' | 'service_account';
  /** Session id, or the service account id. */
  readonly sessionId: string;
  readonly userId: string;
  readonly email: string;
  readonly name: string;
  readonly groups: readonly string[];
  readonly claims: Readonly<Record<string, unknown>>;
  /** The session record (null for service accounts). */
  readonly session: DataRecord<SessionData> | null;
}

function stringClaim(claims: Readonly<Record<string, unknown>>, name: string): string {
  const v = claims[name];
  return typeof v === 'string' ? v : '';
}

function groupsOf(claims: Readonly<Record<string, unknown>>): string[] {
  const v = claims.groups;
  if (Array.isArray(v)) return v.filter((g): g is string => typeof g === 'string');
  if (typeof v === 'string' && v !== '') return [v];
  return [];
}

export function identityOfSession(record: DataRecord<SessionData>): Identity {
  const claims = record.data.claims;
  return {
    kind: 'session',
    sessionId: record.id,
    userId: record.data.userId,
    email: stringClaim(claims, 'email'),
    name: stringClaim(claims, 'name'),
    groups: groupsOf(claims),
    claims,
    session: record,
  };
}

/**
 * Pomerium's rule (pom:pkg/grpc/session Validate): a session is over when it
 * has expired, or when its access token has expired and cannot be refreshed.
 */
export function isSessionLive(data: SessionData, idpId: string | null, now: number): boolean {
  if (idpId !== null && data.idpId !== idpId) return false;
  if (data.expiresAt <= now) return false;
  if (data.oauth.expiresAt !== 0 && data.oauth.expiresAt <= now && data.oauth.refreshToken === '') return false;
  return true;
}

/** What a login or a refresh contributes to a session: its tokens and claims. */
function tokensOf(profile: IdentityProfile): Pick<SessionData, 'idToken' | 'oauth' | 'claims'> {
  return {
    idToken: {
      raw: profile.idToken,
      issuer: profile.issuer,
      subject: profile.subject,
      issuedAt: profile.idTokenIssuedAt * 1000,
      expiresAt: profile.idTokenExpiresAt * 1000,
    },
    oauth: {
      accessToken: profile.accessToken,
      tokenType: profile.tokenType,
      expiresAt: profile.accessTokenExpiresAt,
      refreshToken: profile.refreshToken,
    },
    claims: profile.claims,
  };
}

export class Sessions {
  readonly #db: Databroker;
  readonly #lifetimeMs: number;

  constructor(db: Databroker, lifetimeMs: number) {
    this.#db = db;
    this.#lifetimeMs = lifetimeMs;
  }

  /**
   * The live session with this id, or null. `idpId` is the provider the
   * caller's route signs in with; null accepts any (Postern's own pages).
   */
  live(sessionId: string, idpId: string | null, now = Date.now()): DataRecord<SessionData> | null {
    const record = this.#db.get<SessionData>(SESSION, sessionId);
    if (record === null || !isSessionLive(record.data, idpId, now)) return null;
    return record;
  }

  /** Stores a new session (always a new random id: a session id set before login is never adopted) and its user. */
  async create(profile: IdentityProfile, idpId: string, now = Date.now()): Promise<DataRecord<SessionData>> {
    const id = randomId(16);
    const expiresAt = now + this.#lifetimeMs;
    const data: SessionData = {
      userId: profile.subject,
      idpId,
      issuedAt: now,
      expiresAt,
      ...tokensOf(profile),
      refreshedAt: 0,
    };
    await this.#putUser(profile);
    return this.#db.put(SESSION, id, data, { expiresAt });
  }

  /** Replaces the tokens of a session after a refresh; the session keeps its id and lifetime. */
  async refreshed(record: DataRecord<SessionData>, profile: IdentityProfile, now = Date.now()): Promise<DataRecord<SessionData> | null> {
    // The session may have been ended while the refresh was in flight.
    if (this.#db.get<SessionData>(SESSION, record.id) === null) return null;
    const data: SessionData = { ...record.data, ...tokensOf(profile), refreshedAt: now };
    await this.#putUser(profile);
    return this.#db.put(SESSION, record.id, data, { expiresAt: record.data.expiresAt });
  }

  async end(sessionId: string): Promise<boolean> {
    return this.#db.delete(SESSION, sessionId);
  }

  all(): DataRecord<SessionData>[] {
    return this.#db.list<SessionData>(SESSION);
  }

  async #putUser(profile: IdentityProfile): Promise<void> {
    const user: UserData = {
      id: profile.subject,
      email: stringClaim(profile.claims, 'email'),
      name: stringClaim(profile.claims, 'name'),
      claims: profile.claims,
    };
    await this.#db.put(USER, profile.subject, user);
  }
}

// Identities and routes for the identity tests: a session identity the way
// authenticate/sessions.ts builds one, and a service account.
import type { Identity } from '../../src/authenticate/sessions.js';
import type { SessionData } from '../../src/authenticate/records.js';
import type { DataRecord } from '../../src/databroker/types.js';

export interface SessionOverrides {
  readonly sessionId?: string;
  readonly userId?: string;
  readonly email?: string;
  readonly name?: string;
  readonly groups?: readonly string[];
  readonly claims?: Readonly<Record<string, unknown>>;
  readonly version?: number;
  readonly accessToken?: string;
  readonly idToken?: string;
}

export function sessionIdentity(o: SessionOverrides = {}): Identity {
  const sessionId = o.sessionId ?? 's1';
  const userId = o.userId ?? 'u2';
  const claims = o.claims ?? {};
  const data: SessionData = {
    userId,
    idpId: 'idp',
    issuedAt: 0,
    expiresAt: Number.MAX_SAFE_INTEGER,
    idToken: { raw: o.idToken ?? 'ID_TOKEN', issuer: 'https://idp.example.com', subject: userId, issuedAt: 0, expiresAt: 0 },
    oauth: { accessToken: o.accessToken ?? 'ACCESS_TOKEN', tokenType: 'Bearer', expiresAt: 0, refreshToken: '' },
    claims,
    refreshedAt: 0,
  };
  const record: DataRecord<SessionData> = { type: 'session', id: sessionId, version: o.version ?? 1, data, modifiedAt: 0, expiresAt: null };
  return {
    kind: 'session',
    sessionId,
    userId,
    email: o.email ?? 'user@example.com',
    name: o.name ?? '',
    groups: o.groups ?? [],
    claims,
    session: record,
  };
}

export function serviceAccountIdentity(o: { id?: string; userId?: string; email?: string; name?: string } = {}): Identity {
  return {
    kind: 'service_account',
    sessionId: o.id ?? 'sa1',
    userId: o.userId ?? 'sa:ci-deploy',
    email: o.email ?? 'ci@example.com',
    name: o.name ?? 'ci-deploy',
    groups: [],
    claims: {},
    session: null,
  };
}

/** The payload of a compact JWS, decoded without verification. */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
}

// Finds who a request is from: a Pomerium credential in a header (the
// session JWT of a programmatic login, or a service-account token), else
// the session cookie. A credential that does not check out is no
// credential at all; a bad cookie is reported so that it can be cleared.
import type { ProxyRequest } from '../proxy/request.js';
import { readCookies } from './cookies.js';
import type { SessionHandles } from './session-handle.js';
import type { SessionJwts } from './session-jwt.js';
import type { ServiceAccounts } from './service-accounts.js';
import { identityOfSession, type Identity, type Sessions } from './sessions.js';

export interface Credentials {
  readonly identity: Identity | null;
  /** A session cookie was sent but none of its values is a live session: clear it. */
  readonly badCookie: boolean;
  /** The credential came in a header (programmatic client): never answer with a login redirect. */
  readonly fromHeader: boolean;
}

const NONE: Credentials = Object.freeze({ identity: null, badCookie: false, fromHeader: false });
const NONE_FROM_HEADER: Credentials = Object.freeze({ identity: null, badCookie: false, fromHeader: true });
const BAD_COOKIE: Credentials = Object.freeze({ identity: null, badCookie: true, fromHeader: false });

const SERVICE_ACCOUNT_PREFIX = 'pst_sa_';

/** The token of a Pomerium credential header, or null (reference §4 step 4). */
export function headerCredential(headers: readonly string[]): string | null {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if (name === 'x-pomerium-authorization') return headers[i + 1]!.trim() || null;
    if (name === 'authorization') {
      const value = headers[i + 1]!;
      const space = value.indexOf(' ');
      if (space < 0) continue;
      const scheme = value.slice(0, space).toLowerCase();
      const rest = value.slice(space + 1).trim();
      if (scheme === 'pomerium') return rest || null;
      if (scheme === 'bearer' && rest.startsWith('Pomerium-')) return rest.slice('Pomerium-'.length) || null;
    }
  }
  return null;
}

export class CredentialResolver {
  readonly #cookieName: string;
  readonly #handles: SessionHandles;
  readonly #jwts: SessionJwts;
  readonly #sessions: Sessions;
  readonly #serviceAccounts: ServiceAccounts;

  constructor(cookieName: string, handles: SessionHandles, jwts: SessionJwts, sessions: Sessions, serviceAccounts: ServiceAccounts) {
    this.#cookieName = cookieName;
    this.#handles = handles;
    this.#jwts = jwts;
    this.#sessions = sessions;
    this.#serviceAccounts = serviceAccounts;
  }

  /** `idpId`: the provider of the route asked for (null: any, for Postern's own pages). */
  resolve(req: ProxyRequest, idpId: string | null, now = Date.now()): Credentials {
    const token = headerCredential(req.headers);
    if (token !== null) {
      const identity = token.startsWith(SERVICE_ACCOUNT_PREFIX) ? this.#serviceAccount(token) : this.#sessionFromJwt(token, req.host, idpId, now);
      return identity ? { identity, badCookie: false, fromHeader: true } : NONE_FROM_HEADER;
    }
    const values = readCookies(req.headers, this.#cookieName);
    if (values.length === 0) return NONE;
    // Every copy is tried: a stale cookie for a parent domain must not hide
    // a good host-only one.
    for (const value of values) {
      const sessionId = this.#handles.verify(value);
      if (sessionId === null) continue;
      const record = this.#sessions.live(sessionId, idpId, now);
      if (record !== null) return { identity: identityOfSession(record), badCookie: false, fromHeader: false };
    }
    return BAD_COOKIE;
  }

  #sessionFromJwt(token: string, host: string, idpId: string | null, now: number): Identity | null {
    const claims = this.#jwts.verify(token);
    // A token minted for one route host is no credential on another.
    if (claims === null || claims.audience !== host) return null;
    const record = this.#sessions.live(claims.sessionId, idpId, now);
    if (record === null || record.data.userId !== claims.userId) return null;
    return identityOfSession(record);
  }

  #serviceAccount(token: string): Identity | null {
    const account = this.#serviceAccounts.verify(token);
    if (account === null) return null;
    return {
      kind: 'service_account',
      sessionId: account.id,
      userId: account.userId,
      email: account.email,
      name: account.name,
      groups: [],
      claims: {},
      session: null,
    };
  }
}

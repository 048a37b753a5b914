// Keeps sessions' access tokens fresh, like Pomerium's identity manager:
// a session is refreshed shortly before its access token (or ID token)
// expires, by one refresh at a time per session; a refresh the provider
// refuses ends the session, while a provider that cannot be reached is
// simply tried again on the next round.
import type { Lease } from '../databroker/leases.js';
import type { DataRecord } from '../databroker/types.js';
import type { Logger } from '../telemetry/logger.js';
import { IdentityProviderRejected, type IdentityProfile } from './identity-provider.js';
import type { IdentityProviders } from './identity-providers.js';
import type { SessionData } from './records.js';
import type { Sessions } from './sessions.js';

/** Refresh this long before a token expires. */
const LEAD_MS = 60_000;
/** Never refresh one session more often than this (Pomerium: 10 s). */
const MIN_INTERVAL_MS = 10_000;
const SCAN_INTERVAL_MS = 5_000;
/** Pomerium's name for the lease its identity manager holds: one instance refreshes at a time. */
export const IDENTITY_MANAGER_LEASE = 'identity_manager';

export interface RefresherStart {
  readonly intervalMs?: number;
  /**
   * The `identity_manager` lease of a store shared by several instances:
   * each round scans only while this instance holds it, so every session is
   * refreshed by one instance. Without it, every round scans.
   */
  readonly lease?: Lease;
}

/** When the session should next be refreshed (ms), or Infinity when it cannot or need not be. */
export function refreshDueAt(data: SessionData): number {
  if (data.oauth.refreshToken === '') return Infinity;
  let due = data.expiresAt;
  if (data.oauth.expiresAt > 0) due = Math.min(due, data.oauth.expiresAt - LEAD_MS);
  if (data.idToken.expiresAt > 0) due = Math.min(due, data.idToken.expiresAt - LEAD_MS);
  return Math.max(due, data.refreshedAt + MIN_INTERVAL_MS);
}

function profileOf(data: SessionData): IdentityProfile {
  return {
    subject: data.userId,
    issuer: data.idToken.issuer,
    idToken: data.idToken.raw,
    idTokenIssuedAt: Math.floor(data.idToken.issuedAt / 1000),
    idTokenExpiresAt: Math.floor(data.idToken.expiresAt / 1000),
    accessToken: data.oauth.accessToken,
    tokenType: data.oauth.tokenType,
    accessTokenExpiresAt: data.oauth.expiresAt,
    refreshToken: data.oauth.refreshToken,
    claims: data.claims,
  };
}

export class SessionRefresher {
  readonly #sessions: Sessions;
  readonly #providers: IdentityProviders;
  readonly #logger: Logger;
  readonly #inFlight = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | null = null;
  #lease: Lease | null = null;
  #scanning = false;

  constructor(sessions: Sessions, providers: IdentityProviders, logger: Logger) {
    this.#sessions = sessions;
    this.#providers = providers;
    this.#logger = logger;
  }

  start(options: RefresherStart = {}): void {
    this.#lease = options.lease ?? null;
    this.#timer = setInterval(() => void this.#round(), options.intervalMs ?? SCAN_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Stops scanning, lets refreshes in flight finish, and gives the lease to another instance. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await Promise.allSettled(this.#inFlight.values());
    try {
      await this.#lease?.release();
    } catch (err) {
      this.#logger.warn({ lease: this.#lease?.name, error: err instanceof Error ? err.message : String(err) }, 'could not release the refresher lease; it expires by itself');
    }
  }

  /** One timed round: a scan, while this instance holds the lease (when there is one). */
  async #round(): Promise<void> {
    // A slow provider must not pile rounds up: the next one starts after this one.
    if (this.#scanning) return;
    this.#scanning = true;
    try {
      if (this.#lease !== null && !(await this.#lease.hold())) return;
      await this.scan();
    } catch (err) {
      this.#logger.warn({ lease: this.#lease?.name, error: err instanceof Error ? err.message : String(err) }, 'refresh round failed; trying again on the next one');
    } finally {
      this.#scanning = false;
    }
  }

  /** Refreshes every session that is due; resolves when those refreshes have settled. */
  async scan(now = Date.now()): Promise<void> {
    const due: Promise<void>[] = [];
    for (const record of this.#sessions.all()) {
      if (refreshDueAt(record.data) <= now) due.push(this.refresh(record));
    }
    await Promise.allSettled(due);
  }

  /** One refresh per session at a time: a second caller joins the first. */
  refresh(record: DataRecord<SessionData>): Promise<void> {
    const running = this.#inFlight.get(record.id);
    if (running) return running;
    const work = this.#refresh(record).finally(() => this.#inFlight.delete(record.id));
    this.#inFlight.set(record.id, work);
    return work;
  }

  async #refresh(record: DataRecord<SessionData>): Promise<void> {
    const provider = this.#providers.byId(record.data.idpId);
    if (provider === undefined) {
      // Its provider is no longer configured: nothing can renew it.
      await this.#sessions.end(record.id);
      return;
    }
    try {
      const profile = await provider.refresh(record.data.oauth.refreshToken, profileOf(record.data));
      await this.#sessions.refreshed(record, profile);
      this.#logger.debug({ 'session-id': record.id }, 'session refreshed');
    } catch (err) {
      if (err instanceof IdentityProviderRejected) {
        await this.#sessions.end(record.id);
        this.#logger.info({ 'session-id': record.id, user: record.data.userId, error: err.message }, 'refresh refused; session ended');
      } else {
        this.#logger.warn({ 'session-id': record.id, error: err instanceof Error ? err.message : String(err) }, 'refresh failed; will retry');
      }
    }
  }
}

// Leases: named, expiring rights to do some work alone (Pomerium's
// AcquireLease; its identity manager holds `identity_manager`). They are
// records of the same store, so with Postgres or a peer group every instance
// competes for the same ones.
//
// Storage offers no compare-and-set, only a total order of changes (the
// versions) that every replica applies in the same order. So a lease is a
// set of claims, one record per attempt, and whether a claim wins is decided
// by a pure rule over the claim and the other claims present just before it
// in that order (claimWins). Every replica reaches the same verdict; the
// claimant reads it when its write resolves. A claim that loses is deleted
// at once, so it does not stand in anybody's way.
//
// A holder may rely on its lease until the expiry it wrote, by its own
// clock; another instance can win only once that expiry has passed by the
// clock of the one claiming. Clocks that disagree by more than the margin a
// caller leaves (renewing well before expiry) can make two holders overlap.
import { randomId } from '../crypto/random.js';
import type { ChangeEvent, Databroker, DataRecord } from './types.js';

/** Record type of lease claims. */
export const LEASE = 'lease';
export const DEFAULT_LEASE_TTL_MS = 30_000;

export interface LeaseClaim {
  readonly name: string;
  readonly holderId: string;
  /** Version of the claim that began the holder's unbroken tenure; null for a first claim. */
  readonly since: number | null;
  /** The holder's previous winning claim, which this one renews; null for a first claim. */
  readonly renews: { readonly version: number; readonly expiresAt: number } | null;
}

function isClaim(data: unknown): data is LeaseClaim {
  if (data === null || typeof data !== 'object') return false;
  const c = data as Partial<LeaseClaim>;
  return typeof c.name === 'string' && typeof c.holderId === 'string' && (c.since === null || typeof c.since === 'number') && (c.renews === null || typeof c.renews === 'object');
}

/** Earlier tenures come first: a renewal keeps the place of the claim that began it. */
function priorityOf(claim: DataRecord<LeaseClaim>): number {
  return claim.data.since ?? claim.version;
}

/**
 * Whether `claim` wins its lease, given the other claims of the same lease
 * present just before it was applied. Times are the writers' (modifiedAt),
 * not the reader's, so the verdict is the same on every replica.
 *
 * - A first claim wins when no other holder's claim is unexpired at its time.
 * - A renewal keeps its holder's place when it was written before its
 *   previous claim expired and nobody else claimed after that expiry in the
 *   meantime; otherwise it counts as a first claim.
 * - A claim never loses to a later tenure, so a claimant whose first claim
 *   lost and is not yet deleted cannot block the holder's renewals.
 */
export function claimWins(claim: DataRecord<LeaseClaim>, others: readonly DataRecord<LeaseClaim>[]): boolean {
  const { holderId, since, renews } = claim.data;
  const at = claim.modifiedAt;
  let priority = claim.version;
  if (since !== null && renews !== null && at < renews.expiresAt) {
    const broken = others.some(
      (r) => r.data.holderId !== holderId && r.version > renews.version && r.version < claim.version && r.modifiedAt >= renews.expiresAt,
    );
    if (!broken) priority = since;
  }
  return !others.some((r) => r.data.holderId !== holderId && (r.expiresAt === null || r.expiresAt > at) && priorityOf(r) < priority);
}

/** A lease this instance tries to hold, as work that must run on one instance uses it. */
export interface Lease {
  readonly name: string;
  /** Acquires or renews; resolves true while this instance holds the lease. */
  hold(): Promise<boolean>;
  release(): Promise<void>;
}

/** A claim this instance won: its tenure and how long it may rely on it. */
interface Held {
  readonly name: string;
  readonly holderId: string;
  readonly id: string;
  readonly since: number;
  readonly version: number;
  readonly expiresAt: number;
}

function heldKey(name: string, holderId: string): string {
  return `${name}\u0000${holderId}`;
}

export class Leases {
  readonly #db: Databroker;
  readonly #now: () => number;
  /** The lease claims in the store, as of the last change delivered to us. */
  readonly #claims = new Map<string, DataRecord<LeaseClaim>>();
  readonly #held = new Map<string, Held>();
  /** Our claims in flight: claim id → verdicts by version, filled in as the changes are applied. */
  readonly #awaiting = new Map<string, Map<number, boolean>>();
  /** One operation at a time per lease and holder. */
  readonly #busy = new Map<string, Promise<unknown>>();

  /** `db` must call its change listeners in version order, before the write that made the change resolves. */
  constructor(db: Databroker, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
    for (const record of db.list(LEASE)) if (isClaim(record.data)) this.#claims.set(record.id, record as DataRecord<LeaseClaim>);
    db.onChange((change) => this.#observe(change));
  }

  /** Whether `holderId` holds `name` now, as this instance knows it. */
  holds(name: string, holderId: string): boolean {
    const held = this.#held.get(heldKey(name, holderId));
    // Our claim ids are ours alone: while the record exists, it is the one we won or renewed.
    return held !== undefined && held.expiresAt > this.#now() && this.#claims.has(held.id);
  }

  /** Takes the lease for `ttlMs` when nobody else holds it, or renews it when `holderId` already does. */
  acquire(name: string, holderId: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return this.#serial(name, holderId, async () => {
      if (this.holds(name, holderId)) return this.#renew(name, holderId, ttlMs);
      const now = this.#now();
      for (const claim of this.#claims.values()) {
        // Somebody holds it as far as we can see: claiming would only lose.
        if (claim.data.name === name && claim.data.holderId !== holderId && (claim.expiresAt === null || claim.expiresAt > now)) return false;
      }
      // A new record per attempt: a sweep that deletes an old, expired claim can never remove a new one.
      const id = `${name}/${holderId}/${randomId(9)}`;
      return this.#claim(name, holderId, id, { name, holderId, since: null, renews: null }, now + ttlMs);
    });
  }

  /** Extends a lease `holderId` holds; false (and no write) when it does not hold it. */
  renew(name: string, holderId: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return this.#serial(name, holderId, () => this.#renew(name, holderId, ttlMs));
  }

  /** Gives the lease up at once; resolves true when `holderId` held it. */
  release(name: string, holderId: string): Promise<boolean> {
    return this.#serial(name, holderId, async () => {
      const key = heldKey(name, holderId);
      const held = this.#held.get(key);
      if (held === undefined) return false;
      this.#held.delete(key);
      await this.#db.delete(LEASE, held.id);
      return held.expiresAt > this.#now();
    });
  }

  /** Releases every lease held through this object (at shutdown, so another instance takes over at once). */
  async releaseAll(): Promise<void> {
    await Promise.allSettled([...this.#held.values()].map((held) => this.release(held.name, held.holderId)));
  }

  /** The lease `name` for `holderId`, held `ttlMs` at a time. */
  lease(name: string, holderId: string, ttlMs = DEFAULT_LEASE_TTL_MS): Lease {
    checkTtl(ttlMs);
    return {
      name,
      hold: () => this.acquire(name, holderId, ttlMs),
      release: async () => {
        await this.release(name, holderId);
      },
    };
  }

  async #renew(name: string, holderId: string, ttlMs: number): Promise<boolean> {
    const key = heldKey(name, holderId);
    const held = this.#held.get(key);
    if (held === undefined || !this.holds(name, holderId)) {
      this.#held.delete(key);
      return false;
    }
    const claim: LeaseClaim = { name, holderId, since: held.since, renews: { version: held.version, expiresAt: held.expiresAt } };
    return this.#claim(name, holderId, held.id, claim, this.#now() + ttlMs);
  }

  async #claim(name: string, holderId: string, id: string, claim: LeaseClaim, expiresAt: number): Promise<boolean> {
    const key = heldKey(name, holderId);
    const verdicts = new Map<number, boolean>();
    this.#awaiting.set(id, verdicts);
    let record: DataRecord<LeaseClaim>;
    try {
      record = await this.#db.put(LEASE, id, claim, { expiresAt });
    } catch (err) {
      this.#held.delete(key);
      throw err;
    } finally {
      this.#awaiting.delete(id);
    }
    // No verdict when the replica jumped over our change (a resync): we cannot know, so we lost.
    if (verdicts.get(record.version) === true) {
      this.#held.set(key, { name, holderId, id, since: claim.since ?? record.version, version: record.version, expiresAt });
      return true;
    }
    this.#held.delete(key);
    await this.#db.delete(LEASE, id);
    return false;
  }

  #observe(change: ChangeEvent): void {
    if (change.type !== LEASE) return;
    const record = change.record !== null && isClaim(change.record.data) ? (change.record as DataRecord<LeaseClaim>) : null;
    if (record !== null && change.resync !== true) {
      const verdicts = this.#awaiting.get(change.id);
      if (verdicts !== undefined) {
        const others: DataRecord<LeaseClaim>[] = [];
        for (const other of this.#claims.values()) if (other.data.name === record.data.name && other.id !== record.id) others.push(other);
        verdicts.set(change.version, claimWins(record, others));
      }
    }
    if (record === null) this.#claims.delete(change.id);
    else this.#claims.set(change.id, record);
  }

  /** Runs `fn` after any operation in flight for the same lease and holder. */
  #serial<T>(name: string, holderId: string, fn: () => Promise<T>): Promise<T> {
    const key = heldKey(name, holderId);
    const run = (this.#busy.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#busy.set(key, tail);
    void tail.then(() => {
      if (this.#busy.get(key) === tail) this.#busy.delete(key);
    });
    return run;
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`a lease's ttl must be a positive number of milliseconds, not ${ttlMs}`);
}

// Where the dev IdP keeps sessions, interactions, grants, codes and tokens:
// in memory, one store per provider instance. oidc-provider's bundled
// adapter shares a single 1000-entry LRU between every provider in the
// process and may evict a live session, which would make tests flaky.
// Lookups other than by id scan one model's records: a development provider
// holds a few thousand records at most.
import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Stored {
  readonly payload: AdapterPayload;
  /** Epoch milliseconds; Infinity when the record does not expire. */
  readonly expiresAt: number;
}

const SWEEP_INTERVAL_MS = 60_000;

export class MemoryStore {
  readonly #models = new Map<string, Map<string, Stored>>();
  readonly #now: () => number;
  #nextSweep: number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
    this.#nextSweep = now() + SWEEP_INTERVAL_MS;
  }

  #records(model: string): Map<string, Stored> {
    let records = this.#models.get(model);
    if (records === undefined) {
      records = new Map();
      this.#models.set(model, records);
    }
    return records;
  }

  /** Live records of a model; expired ones are removed on the way. */
  *#live(model: string): Generator<[string, AdapterPayload]> {
    const records = this.#records(model);
    const now = this.#now();
    for (const [id, stored] of records) {
      if (stored.expiresAt <= now) records.delete(id);
      else yield [id, stored.payload];
    }
  }

  #sweep(): void {
    const now = this.#now();
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + SWEEP_INTERVAL_MS;
    for (const records of this.#models.values()) {
      for (const [id, stored] of records) if (stored.expiresAt <= now) records.delete(id);
    }
  }

  /** The oidc-provider adapter for one model (Session, Grant, RefreshToken, …). */
  adapter(model: string): Adapter {
    const records = this.#records(model);
    const find = (id: string): AdapterPayload | undefined => {
      const stored = records.get(id);
      if (stored === undefined) return undefined;
      if (stored.expiresAt > this.#now()) return stored.payload;
      records.delete(id);
      return undefined;
    };
    const findBy = (field: 'uid' | 'userCode', value: string): AdapterPayload | undefined => {
      for (const [, payload] of this.#live(model)) if (payload[field] === value) return payload;
      return undefined;
    };
    return {
      upsert: async (id, payload, expiresIn) => {
        this.#sweep();
        records.set(id, { payload, expiresAt: expiresIn === undefined ? Infinity : this.#now() + expiresIn * 1000 });
      },
      find: async (id) => find(id),
      findByUid: async (uid) => findBy('uid', uid),
      findByUserCode: async (userCode) => findBy('userCode', userCode),
      consume: async (id) => {
        const payload = find(id);
        if (payload !== undefined) payload.consumed = Math.floor(this.#now() / 1000);
      },
      destroy: async (id) => {
        records.delete(id);
      },
      revokeByGrantId: async (grantId) => {
        for (const [id, payload] of this.#live(model)) if (payload.grantId === grantId) records.delete(id);
      },
    };
  }

  /**
   * Removes every grant of an account and every code and token issued under
   * them, as a revocation at the provider would: refreshing fails from now on.
   * Returns how many grants there were.
   */
  revokeGrantsOf(accountId: string): number {
    const grantIds = new Set<string>();
    for (const [id, payload] of this.#live('Grant')) if (payload.accountId === accountId) grantIds.add(id);
    for (const [model, records] of this.#models) {
      if (model === 'Grant') {
        for (const id of grantIds) records.delete(id);
        continue;
      }
      for (const [id, stored] of records) if (stored.payload.grantId !== undefined && grantIds.has(stored.payload.grantId)) records.delete(id);
    }
    return grantIds.size;
  }

  /** Ends an account's login sessions at the provider; returns how many there were. */
  endSessionsOf(accountId: string): number {
    const records = this.#records('Session');
    let ended = 0;
    for (const [id, payload] of this.#live('Session')) {
      if (payload.accountId !== accountId) continue;
      records.delete(id);
      ended++;
    }
    return ended;
  }
}

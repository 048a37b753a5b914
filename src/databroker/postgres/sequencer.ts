// One backend sees changes arrive two ways: its own writes come back from
// COMMIT with their version, and other writers' changes are read from the
// feed after a notification. The replica must see both in version order,
// each exactly once, with no gap. The sequencer merges them:
//
//   - a write of ours at version v resolves once every version before v has
//     been passed on (at once when v is the next one, the common case);
//   - a feed row from another writer is passed to the listener when it is
//     the next version;
//   - a feed row written by us names its write (the origin column holds
//     this backend's id and the write's sequence number). While that write's
//     answer is still awaited the feed stops there, and the answer resumes
//     it; when the write waits for it, the row resolves the write. A write
//     whose outcome we never learnt (the connection died before the answer)
//     or that we had to reject after COMMIT leaves a row nobody waits for:
//     it is passed on like any other writer's change.
//
// Pure bookkeeping, no I/O: the backend feeds it and acts on the answers.
import type { Change } from '../backend.js';

/** What to do with one feed row, in version order. */
export type Verdict =
  /** Already passed on (by an earlier read or a write): skip it. */
  | 'seen'
  /** Pass it to the subscription's listener. */
  | 'deliver'
  /** Ours, and its write has resolved with it now: skip it. */
  | 'resolved'
  /** Ours, and its write's answer has not arrived: stop here; the answer will resume the feed. */
  | 'wait';

interface Waiter {
  readonly change: Change;
  readonly resolve: (change: Change) => void;
  readonly reject: (err: Error) => void;
}

export class ChangeSequencer {
  #applied: number;
  /** Once the subscriber is gone, writes resolve without waiting for a feed nobody reads. */
  #released = false;
  /** Sequence numbers of writes sent whose answer has not arrived. */
  readonly #inFlight = new Set<number>();
  /** Committed writes of ours waiting for earlier versions, by version. */
  readonly #waiting = new Map<number, Waiter>();

  constructor(applied: number) {
    this.#applied = applied;
  }

  /** The last version passed on, by the feed or by a write. */
  get applied(): number {
    return this.#applied;
  }

  /** Writes whose answer is awaited or that wait for earlier versions. */
  get pending(): number {
    return this.#inFlight.size + this.#waiting.size;
  }

  /**
   * A write of ours is being sent, numbered `seq` (stored with its change).
   * The backend numbers writes across subscriptions, so a row written under
   * an earlier one is never taken for a write of this one.
   */
  writeSent(seq: number): void {
    this.#inFlight.add(seq);
  }

  /** A write of ours failed before we learnt its version (it may still have committed). */
  writeFailed(seq: number): void {
    this.#inFlight.delete(seq);
  }

  /**
   * A write of ours committed. Resolves now when nothing before it is
   * missing; otherwise it waits, and the caller must read the feed.
   */
  writeCommitted(seq: number, change: Change): { readonly change: Promise<Change>; readonly waits: boolean } {
    this.#inFlight.delete(seq);
    if (this.#released || change.version <= this.#applied + 1) {
      // At or below: a resynchronisation's snapshot already held it.
      if (change.version > this.#applied) this.#applied = change.version;
      return { change: Promise.resolve(change), waits: false };
    }
    const promise = new Promise<Change>((resolve, reject) => {
      this.#waiting.set(change.version, { change, resolve, reject });
    });
    return { change: promise, waits: true };
  }

  /** Whether the row at `version` will resolve a write of ours that waits for it. */
  resolves(version: number): boolean {
    return this.#waiting.has(version);
  }

  /**
   * The verdict on the next feed row; rows must come in version order,
   * contiguous from `applied + 1`. `ownWrite` is the sequence number when
   * this backend wrote the row, else null.
   */
  offer(version: number, ownWrite: number | null): Verdict {
    if (version <= this.#applied) return 'seen';
    if (version !== this.#applied + 1) throw new RangeError(`feed row ${version} offered after ${this.#applied}`);
    if (ownWrite !== null) {
      const waiter = this.#waiting.get(version);
      if (waiter !== undefined) {
        this.#waiting.delete(version);
        this.#applied = version;
        waiter.resolve(waiter.change);
        return 'resolved';
      }
      if (this.#inFlight.has(ownWrite)) return 'wait';
    }
    this.#applied = version;
    return 'deliver';
  }

  /**
   * The listener was given a snapshot at `version`: everything up to it is
   * passed on, and our writes it holds resolve (the replica already has them).
   */
  resynchronised(version: number): void {
    this.#applied = version;
    for (const [v, waiter] of this.#waiting) {
      if (v > version) continue;
      this.#waiting.delete(v);
      waiter.resolve(waiter.change);
    }
  }

  /**
   * The subscriber left (it may subscribe again, from its own version):
   * waiting writes resolve now, and later ones at once. A subscriber that
   * receives a write before earlier changes must hold it until they arrive;
   * the new subscription sends them.
   */
  release(): void {
    this.#released = true;
    for (const waiter of this.#waiting.values()) waiter.resolve(waiter.change);
    this.#waiting.clear();
  }

  /**
   * The feed is down: waiting writes fail now rather than hang. They did
   * commit, so their changes come back through the feed once it returns.
   */
  failWaiting(err: Error): void {
    for (const waiter of this.#waiting.values()) waiter.reject(err);
    this.#waiting.clear();
  }
}

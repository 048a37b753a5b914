// Remembers credentials already verified, so the hot path compares a string
// instead of computing an HMAC (about 2 µs each). Only values that passed
// verification go in, keyed by their exact text: a hit proves the same bytes
// were verified before. Two generations bound the memory: when the current
// one fills, it becomes the previous one and the old previous is dropped; a
// hit in the previous generation moves the entry forward (LRU-ish, O(1)).

export class VerifiedCache<T extends {}> {
  readonly #generationSize: number;
  #current = new Map<string, T>();
  #previous = new Map<string, T>();

  /** Holds at most `capacity` entries. */
  constructor(capacity = 50_000) {
    if (!Number.isSafeInteger(capacity) || capacity < 2) throw new RangeError('a verified cache holds at least 2 entries');
    this.#generationSize = capacity >> 1;
  }

  get(key: string): T | undefined {
    const hit = this.#current.get(key);
    if (hit !== undefined) return hit;
    const old = this.#previous.get(key);
    if (old !== undefined) {
      this.#previous.delete(key);
      this.#insert(key, old);
    }
    return old;
  }

  set(key: string, value: T): void {
    this.#previous.delete(key);
    this.#insert(key, value);
  }

  delete(key: string): void {
    this.#current.delete(key);
    this.#previous.delete(key);
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  #insert(key: string, value: T): void {
    if (this.#current.size >= this.#generationSize && !this.#current.has(key)) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    this.#current.set(key, value);
  }
}

// The timing loop every micro-benchmark shares: a warm-up pass, then ROUNDS
// timed passes, reporting the median and the best ns/op. Results are folded
// into a sink that is printed at the end, so the work cannot be optimised
// away.
export const ROUNDS = 7;

export interface Result {
  readonly name: string;
  readonly median: number;
  readonly best: number;
}

let sink = 0;

/** The sink's low bit, to print once at the end. */
export function sinkBit(): number {
  return sink & 1;
}

/** Folds a result into the sink. */
export function keep(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Uint8Array || Array.isArray(v)) return v.length;
  return v === null || v === undefined ? 0 : 1;
}

function summary(name: string, rounds: number[]): Result {
  rounds.sort((a, b) => a - b);
  return { name, median: rounds[ROUNDS >> 1]!, best: rounds[0]! };
}

export function measure(name: string, iterations: number, fn: (i: number) => unknown): Result {
  for (let i = 0; i < iterations; i++) sink ^= keep(fn(i));
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink ^= keep(fn(i));
    rounds.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  return summary(name, rounds);
}

export async function measureAsync(name: string, iterations: number, fn: () => Promise<unknown>): Promise<Result> {
  for (let i = 0; i < iterations; i++) sink ^= keep(await fn());
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink ^= keep(await fn());
    rounds.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  return summary(name, rounds);
}

// Why a criterion passed or failed: Pomerium's reason strings
// (pom:pkg/policy/criteria/reasons.go), plus the ones for criteria Pomerium
// keeps to its paid editions (date, day_of_week, time_of_day) and for a
// token whose group list was left out (groups-unavailable).
//
// A set of reasons travels through evaluation as a bit mask, so merging the
// reasons of a rule costs an OR rather than a Set. The reasons seen on
// nearly every request come first: their masks stay small integers, which
// V8 keeps unboxed. Masks are turned into sorted string lists (Pomerium logs
// them sorted) through a cache, so a steady stream of decisions allocates
// no reason lists at all.

export const REASONS = [
  'user-unauthenticated',
  'user-ok',
  'user-unauthorized',
  'email-ok',
  'email-unauthorized',
  'domain-ok',
  'domain-unauthorized',
  'groups-ok',
  'groups-unauthorized',
  'claim-ok',
  'claim-unauthorized',
  'http-path-ok',
  'http-path-unauthorized',
  'http-method-ok',
  'http-method-unauthorized',
  'accept',
  'reject',
  'cors-request',
  'non-cors-request',
  'source-ip-ok',
  'source-ip-unauthorized',
  'client-certificate-ok',
  'client-certificate-unauthorized',
  'client-certificate-required',
  'invalid-client-certificate',
  'valid-client-certificate',
  'groups-unavailable',
  'date-ok',
  'date-unauthorized',
  'day-of-week-ok',
  'day-of-week-unauthorized',
  'time-of-day-ok',
  'time-of-day-unauthorized',
  'route-not-found',
] as const;

export type Reason = (typeof REASONS)[number];

const TWO_32 = 0x1_0000_0000;

const BITS: ReadonlyMap<Reason, number> = new Map(REASONS.map((r, i) => [r, 2 ** i]));

export function reasonMask(reason: Reason): number {
  return BITS.get(reason)!;
}

/** The union of two reason masks; masks may exceed 32 bits, which `|` alone would truncate. */
export function unionMasks(a: number, b: number): number {
  if (a < TWO_32 && b < TWO_32) return (a | b) >>> 0;
  return ((Math.floor(a / TWO_32) | Math.floor(b / TWO_32)) >>> 0) * TWO_32 + ((a | b) >>> 0);
}

function hasBit(mask: number, bit: number): boolean {
  return bit < TWO_32 ? ((mask >>> 0) & bit) !== 0 : (Math.floor(mask / TWO_32) & (bit / TWO_32)) !== 0;
}

const ALPHABETICAL: readonly (readonly [Reason, number])[] = [...BITS].sort((x, y) => (x[0] < y[0] ? -1 : 1));

const EMPTY: readonly Reason[] = Object.freeze([]);
const LISTS = new Map<number, readonly Reason[]>([[0, EMPTY]]);
/** Distinct reason sets remembered; a policy produces a handful, so this is only a guard. */
const MAX_CACHED = 4096;

/** The reasons of a mask, sorted alphabetically as Pomerium reports them; the array is frozen and shared. */
export function reasonsOf(mask: number): readonly Reason[] {
  const cached = LISTS.get(mask);
  if (cached !== undefined) return cached;
  const list: Reason[] = [];
  for (const [reason, bit] of ALPHABETICAL) if (hasBit(mask, bit)) list.push(reason);
  Object.freeze(list);
  if (LISTS.size < MAX_CACHED) LISTS.set(mask, list);
  return list;
}

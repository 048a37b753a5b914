// `date` (a paid-edition criterion in Pomerium, syntax from its docs): the
// request time is after and/or before ISO-8601 instants, both exclusive.
//   date: {after: 2020-01-02T16:20:00, before: 2150-01-02T16:20:00Z}
// A date or time without an offset is read as UTC, so a policy means the
// same on every server whatever its local zone.
import { compiled, refused, requestTest, type CriterionSpec } from '../criterion.js';
import { typeName } from '../parse.js';

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** Milliseconds since the epoch, or null when `text` is not an ISO-8601 date or date-time. */
export function parseIsoInstant(text: string): number | null {
  const m = ISO_8601.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) => (v === undefined ? 0 : Number(v))) as [
    number, number, number, number, number, number,
  ];
  const ms = m[7] === undefined ? 0 : Number(`0.${m[7]}`) * 1000;
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second) + ms;
  // Date.UTC rolls 2021-02-30 over into March; such a date does not exist.
  if (new Date(utc).getUTCDate() !== day) return null;
  const zone = m[8];
  if (zone === undefined || zone.toUpperCase() === 'Z') return utc;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offsetHours = Number(digits.slice(0, 2));
  const offsetMinutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (offsetHours > 23 || offsetMinutes > 59) return null;
  return utc - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
}

function bound(data: Record<string, unknown>, key: string): number | null | string {
  if (!Object.hasOwn(data, key)) return null;
  const v = data[key];
  if (typeof v !== 'string') return `${key} must be an ISO-8601 date string, not a ${typeName(v)}`;
  const t = parseIsoInstant(v);
  return t === null ? `${key}: ${JSON.stringify(v)} is not an ISO-8601 date (e.g. 2030-01-02 or 2030-01-02T16:20:00Z)` : t;
}

export const date: CriterionSpec = {
  name: 'date',
  reads: 'clock',
  compile(data) {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      return refused(`expected a map with after and/or before, not a ${typeName(data)}`);
    }
    const spec = data as Record<string, unknown>;
    for (const key of Object.keys(spec)) {
      if (key !== 'after' && key !== 'before') return refused(`unsupported date matcher operator "${key}" (use after or before)`);
    }
    const after = bound(spec, 'after');
    const before = bound(spec, 'before');
    if (typeof after === 'string') return refused(after);
    if (typeof before === 'string') return refused(before);
    if (after === null && before === null) return refused('needs after, before or both');
    const from = after ?? -Infinity;
    const until = before ?? Infinity;
    return compiled(
      requestTest('date-ok', 'date-unauthorized', (input) => {
        const now = input.now.getTime();
        return now > from && now < until;
      }),
    );
  },
};

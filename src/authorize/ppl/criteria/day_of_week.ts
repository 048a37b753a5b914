// `day_of_week` (a paid-edition criterion in Pomerium, syntax from its
// docs): `*`, a day, a range `mon-fri` (wrapping: `fri-mon` is four days),
// or a comma-separated list of days and ranges. Days are English names or
// their three-letter abbreviations, in any case. The day is the UTC day of
// the request, as Rego's time.weekday gives it.
import { compiled, refused, requestTest, type CriterionSpec } from '../criterion.js';
import { typeName } from '../parse.js';

const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

function dayNumber(name: string): number {
  const n = name.trim().toLowerCase();
  return DAYS.findIndex((d) => d === n || d.slice(0, 3) === n);
}

/** Bit i set for day i (0 = Sunday), or a message. */
export function parseDaysOfWeek(text: string): number | string {
  if (text.trim() === '*') return 0b111_1111;
  let days = 0;
  for (const item of text.split(',')) {
    const dash = item.indexOf('-');
    const first = dayNumber(dash < 0 ? item : item.slice(0, dash));
    const last = dash < 0 ? first : dayNumber(item.slice(dash + 1));
    if (first < 0 || last < 0) return `${JSON.stringify(item.trim())} is not a day or a range of days (e.g. mon, tuesday, mon-fri)`;
    for (let d = first; ; d = (d + 1) % 7) {
      days |= 1 << d;
      if (d === last) break;
    }
  }
  return days;
}

export const dayOfWeek: CriterionSpec = {
  name: 'day_of_week',
  reads: 'clock',
  compile(data) {
    if (typeof data !== 'string') return refused(`expected a string such as "mon-fri" or "sat,sun", not a ${typeName(data)}`);
    const days = parseDaysOfWeek(data);
    if (typeof days === 'string') return refused(days);
    return compiled(
      requestTest('day-of-week-ok', 'day-of-week-unauthorized', (input) => {
        const day = input.now.getUTCDay();
        return !Number.isNaN(day) && ((days >> day) & 1) === 1;
      }),
    );
  },
};

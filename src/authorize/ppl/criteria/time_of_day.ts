// `time_of_day` (a paid-edition criterion in Pomerium, syntax from its
// docs): the request's wall-clock time in `timezone` (required, an IANA
// name such as America/Phoenix) is after `after` and/or before `before`,
// both exclusive. Times are written `3:04 PM`, `3:04PM`, `3 PM`, `3PM`,
// `15:04`, `15:04:05` or `15:04:05.999999999`. When `after` is later than
// `before` the window runs overnight (after 22:00, before 06:00).
import { compiled, refused, requestTest, type CriterionSpec } from '../criterion.js';
import { typeName } from '../parse.js';

const TWELVE_HOUR = /^(\d{1,2})(?::(\d{2}))?\s?(AM|PM)$/i;
const TWENTY_FOUR_HOUR = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;
const DAY_MS = 86_400_000;

/** Milliseconds after midnight, or null when `text` is none of the accepted forms. */
export function parseTimeOfDay(text: string): number | null {
  const t = text.trim();
  let m = TWELVE_HOUR.exec(t);
  if (m !== null) {
    const hour = Number(m[1]);
    const minute = m[2] === undefined ? 0 : Number(m[2]);
    if (hour > 12 || minute > 59) return null;
    const pm = m[3]!.toUpperCase() === 'PM';
    return ((hour % 12) + (pm ? 12 : 0)) * 3_600_000 + minute * 60_000;
  }
  m = TWENTY_FOUR_HOUR.exec(t);
  if (m === null) return null;
  const [hour, minute, second] = [Number(m[1]), Number(m[2]), m[3] === undefined ? 0 : Number(m[3])];
  if (hour > 23 || minute > 59 || second > 59) return null;
  const fraction = m[4] === undefined ? 0 : Number(`0.${m[4]}`) * 1000;
  return hour * 3_600_000 + minute * 60_000 + second * 1000 + fraction;
}

/**
 * Milliseconds after local midnight in a zone. Offsets change only on
 * whole minutes, so the zone is consulted once per minute and the seconds
 * are carried over from UTC.
 */
function wallClock(timeZone: string): (now: Date) => number {
  const format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' });
  let minute = Number.NaN;
  let localMinuteStart = 0;
  return (now) => {
    const ms = now.getTime();
    const m = Math.floor(ms / 60_000);
    if (m !== minute) {
      let hour = 0;
      let min = 0;
      for (const part of format.formatToParts(now)) {
        if (part.type === 'hour') hour = Number(part.value) % 24;
        else if (part.type === 'minute') min = Number(part.value);
      }
      minute = m;
      localMinuteStart = (hour * 60 + min) * 60_000;
    }
    return localMinuteStart + (ms - minute * 60_000);
  };
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const timeOfDay: CriterionSpec = {
  name: 'time_of_day',
  reads: 'clock',
  compile(data) {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      return refused(`expected a map with timezone and after and/or before, not a ${typeName(data)}`);
    }
    const spec = data as Record<string, unknown>;
    const bounds: { after: number | null; before: number | null } = { after: null, before: null };
    let timeZone: string | null = null;
    for (const [key, value] of Object.entries(spec)) {
      if (key === 'timezone') {
        if (typeof value !== 'string' || !validTimeZone(value)) return refused(`timezone: ${JSON.stringify(value)} is not a known time zone (e.g. UTC, America/New_York)`);
        timeZone = value;
      } else if (key === 'after' || key === 'before') {
        const t = typeof value === 'string' ? parseTimeOfDay(value) : null;
        if (t === null) return refused(`${key}: ${JSON.stringify(value)} is not a time of day (e.g. 9:30AM, 17:00, 17:00:30)`);
        bounds[key] = t;
      } else {
        return refused(`unsupported time_of_day matcher operator "${key}" (use timezone, after or before)`);
      }
    }
    if (timeZone === null) return refused('timezone is required');
    const { after, before } = bounds;
    if (after === null && before === null) return refused('needs after, before or both');
    const clock = wallClock(timeZone);
    const overnight = after !== null && before !== null && after > before;
    const from = after ?? -1;
    const until = before ?? DAY_MS;
    return compiled(
      requestTest('time-of-day-ok', 'time-of-day-unauthorized', (input) => {
        if (Number.isNaN(input.now.getTime())) return false;
        const t = clock(input.now);
        return overnight ? t > from || t < until : t > from && t < until;
      }),
    );
  },
};

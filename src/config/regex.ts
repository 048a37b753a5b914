// Route regexes are written for RE2 (Envoy's safe_regex). Most RE2 syntax is
// JavaScript syntax too; the differences are translated here, or refused
// where JavaScript would silently read the pattern differently (in
// JavaScript `\A` is a literal "A" and `[[:alpha:]]` is not a POSIX class).
// Features RE2 itself lacks (lookaround, backreferences) are refused, as
// Pomerium would fail on them too.
import type { Parsed } from './findings.js';

// Perl classes and escapes both engines read the same way.
const SHARED_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S', 'n', 'r', 't', 'f', 'v']);

const POSIX_CLASSES: ReadonlyMap<string, string> = new Map([
  ['alnum', '0-9A-Za-z'],
  ['alpha', 'A-Za-z'],
  ['ascii', '\\x00-\\x7F'],
  ['blank', '\\t '],
  ['cntrl', '\\x00-\\x1F\\x7F'],
  ['digit', '0-9'],
  ['graph', '!-~'],
  ['lower', 'a-z'],
  ['print', ' -~'],
  ['punct', '!-\\/:-@\\[-`{-~'],
  ['space', '\\t\\n\\v\\f\\r '],
  ['upper', 'A-Z'],
  ['word', '0-9A-Za-z_'],
  ['xdigit', '0-9A-Fa-f'],
]);

const LEADING_FLAGS = /^\(\?([a-zA-Z-]+)\)/;

/** Translates RE2 syntax to a JavaScript source and flags, or says why it cannot. */
export function translateRe2(pattern: string): Parsed<{ source: string; flags: string }> {
  let i = 0;
  let flags = '';
  for (let m = LEADING_FLAGS.exec(pattern); m !== null; m = LEADING_FLAGS.exec(pattern.slice(i))) {
    for (const flag of m[1] as string) {
      if (flag !== 'i' && flag !== 's' && flag !== 'm') return { ok: false, error: `the flag ${JSON.stringify(flag)} is not supported (only i, s and m)` };
      if (!flags.includes(flag)) flags += flag;
    }
    i += m[0].length;
  }
  let out = '';
  let inClass = false;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const escaped = translateEscape(pattern, i, inClass);
      if (!escaped.ok) return escaped;
      out += escaped.value.text;
      i = escaped.value.next;
      continue;
    }
    if (inClass) {
      if (c === '[' && pattern[i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(pattern.slice(i));
        const chars = m === null ? undefined : POSIX_CLASSES.get(m[2] as string);
        if (m === null || chars === undefined || m[1] === '^') {
          return { ok: false, error: 'has a POSIX class ([:name:]) that is unknown or negated' };
        }
        out += chars;
        i += m[0].length;
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += '[';
      i++;
      if (pattern[i] === '^') {
        out += '^';
        i++;
      }
      // A `]` first in a class is a literal in RE2.
      if (pattern[i] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const group = translateGroup(pattern.slice(i));
      if (!group.ok) return group;
      out += group.value.text;
      i += group.value.length;
      continue;
    }
    out += c;
    i++;
  }
  return { ok: true, value: { source: out, flags } };
}

function translateGroup(rest: string): Parsed<{ text: string; length: number }> {
  if (rest.startsWith('(?:')) return { ok: true, value: { text: '(?:', length: 3 } };
  if (rest.startsWith('(?P<')) return { ok: true, value: { text: '(?<', length: 4 } };
  if (rest.startsWith('(?=') || rest.startsWith('(?!') || rest.startsWith('(?<=') || rest.startsWith('(?<!')) {
    return { ok: false, error: 'uses lookaround, which RE2 does not support' };
  }
  if (rest.startsWith('(?<')) return { ok: true, value: { text: '(?<', length: 3 } };
  if (/^\(\?[a-zA-Z-]+[):]/.test(rest)) return { ok: false, error: 'sets flags inside the pattern; only a leading (?i), (?s) or (?m) is supported' };
  return { ok: false, error: 'has an unsupported (? group' };
}

function translateEscape(pattern: string, at: number, inClass: boolean): Parsed<{ text: string; next: number }> {
  const c = pattern[at + 1];
  if (c === undefined) return { ok: false, error: 'ends with a lone backslash' };
  if (SHARED_ESCAPES.has(c) || (!inClass && (c === 'b' || c === 'B'))) return { ok: true, value: { text: '\\' + c, next: at + 2 } };
  if (c === 'a') return { ok: true, value: { text: '\\x07', next: at + 2 } };
  if (!inClass && c === 'A') return { ok: true, value: { text: '(?<![\\s\\S])', next: at + 2 } };
  if (!inClass && c === 'z') return { ok: true, value: { text: '(?![\\s\\S])', next: at + 2 } };
  if (c === 'x') {
    const braced = /^\{([0-9A-Fa-f]{1,4})\}/.exec(pattern.slice(at + 2));
    if (braced !== null) return { ok: true, value: { text: '\\u' + (braced[1] as string).padStart(4, '0'), next: at + 2 + braced[0].length } };
    if (/^[0-9A-Fa-f]{2}/.test(pattern.slice(at + 2))) return { ok: true, value: { text: pattern.slice(at, at + 4), next: at + 4 } };
    return { ok: false, error: 'has an invalid \\x escape (\\xHH or \\x{HHHH})' };
  }
  if (c === 'p' || c === 'P') return { ok: false, error: 'uses a Unicode class (\\p), which is not supported' };
  if (c >= '0' && c <= '9') return { ok: false, error: 'uses a backreference or octal escape, which is not supported' };
  if (/[A-Za-z]/.test(c)) return { ok: false, error: `uses the escape \\${c}, which is not supported` };
  return { ok: true, value: { text: '\\' + c, next: at + 2 } };
}

/**
 * Compiles an RE2 pattern. `anchored` wraps it as `^(?:…)$`: Envoy's
 * safe_regex must match the whole path.
 */
export function compileRe2(pattern: string, anchored: boolean): Parsed<RegExp> {
  const translated = translateRe2(pattern);
  if (!translated.ok) return translated;
  const { source, flags } = translated.value;
  try {
    return { ok: true, value: new RegExp(anchored ? `^(?:${source})$` : source, flags) };
  } catch (err) {
    return { ok: false, error: `is not a valid regular expression (${(err as Error).message})` };
  }
}

/** The number of capture groups of a compiled pattern. */
export function groupCount(re: RegExp): number {
  // An alternative that matches the empty string reveals every group.
  return (new RegExp(`${re.source}|`, re.flags).exec('') as RegExpExecArray).length - 1;
}

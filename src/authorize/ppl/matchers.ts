// PPL's two matchers (pom:pkg/policy/criteria/matchers.go), compiled once
// into predicates.
//
// String matcher: a map of operators, all of which must hold; any other
// value `v` means `{is: v}`. `is` and `not` compare with JSON equality (so
// `is: 42` never matches a string and `not: 42` always does); `in` and
// `not_in` take a list; `contains`, `starts_with` and `ends_with` take a
// string (Rego's type checker refuses anything else, so we do too).
//
// String-list matcher: `has` (some element equals), `is` (exactly one
// element, and it equals), `exclude` (no element equals); any other value
// `v` means `{has: v}`.
import { jsonEqual } from './json-equal.js';
import { typeName } from './parse.js';

export type MatcherCompile<T> = { readonly ok: true; readonly matcher: T } | { readonly ok: false; readonly message: string };

type StringTest = (s: string) => boolean;

export interface StringMatcher {
  /** Every operator holds for `value`. */
  matches(value: string): boolean;
  /**
   * For a list of values (a certificate's SANs): every operator holds for
   * some element, each operator on its own; `not_in` holds when no element
   * is in the list. This is what Pomerium's Rego (`cert.DNSNames[_]` in each
   * expression) means.
   */
  matchesEachForSome(values: readonly string[]): boolean;
}

export interface StringMatcherOptions {
  /** Compare case-insensitively: the configured strings are lower-cased here, the caller lower-cases the value. */
  readonly lowerCase?: boolean;
}

const STRING_OPERATORS = 'is, not, contains, starts_with, ends_with, in or not_in';

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

interface Operator {
  readonly test: StringTest;
  /** `not_in`: over a list it must hold for every element, not for some. */
  readonly forEvery: boolean;
}

function stringOperator(op: string, arg: unknown, lower: (s: string) => string): Operator | string {
  const fold = (v: unknown): unknown => (typeof v === 'string' ? lower(v) : v);
  switch (op) {
    case 'is': {
      const want = fold(arg);
      return { test: typeof want === 'string' ? (s) => s === want : () => false, forEvery: false };
    }
    case 'not': {
      const want = fold(arg);
      return { test: typeof want === 'string' ? (s) => s !== want : () => true, forEvery: false };
    }
    case 'contains':
    case 'starts_with':
    case 'ends_with': {
      if (typeof arg !== 'string') return `${op} needs a string, not a ${typeName(arg)}`;
      const want = lower(arg);
      const test: StringTest =
        op === 'contains' ? (s) => s.includes(want) : op === 'starts_with' ? (s) => s.startsWith(want) : (s) => s.endsWith(want);
      return { test, forEvery: false };
    }
    case 'in':
    case 'not_in': {
      if (!Array.isArray(arg)) return `${op} matcher requires an array of strings, not a ${typeName(arg)}`;
      // Only string elements can equal a string.
      const set = new Set(arg.filter((v): v is string => typeof v === 'string').map(lower));
      return op === 'in' ? { test: (s) => set.has(s), forEvery: false } : { test: (s) => !set.has(s), forEvery: true };
    }
    default:
      return `unknown string matcher operator "${op}" (use ${STRING_OPERATORS})`;
  }
}

const asIs = (s: string): string => s;
const toLower = (s: string): string => s.toLowerCase();

export function compileStringMatcher(data: unknown, options: StringMatcherOptions = {}): MatcherCompile<StringMatcher> {
  const lower = options.lowerCase === true ? toLower : asIs;
  const spec = isMap(data) ? data : { is: data };
  const ops: Operator[] = [];
  for (const [op, arg] of Object.entries(spec)) {
    const compiled = stringOperator(op, arg, lower);
    if (typeof compiled === 'string') return { ok: false, message: compiled };
    ops.push(compiled);
  }
  const tests = ops.map((o) => o.test);
  const single = tests.length === 1 ? tests[0]! : null;
  const matcher: StringMatcher = {
    matches:
      single ??
      ((value) => {
        for (let i = 0; i < tests.length; i++) if (!tests[i]!(value)) return false;
        return true;
      }),
    matchesEachForSome(values) {
      for (const { test, forEvery } of ops) {
        if (forEvery ? !values.every(test) : !values.some(test)) return false;
      }
      return true;
    },
  };
  return { ok: true, matcher };
}

/** Holds for a claim's or a user's list of values. */
export type StringListMatcher = (values: readonly unknown[]) => boolean;

function someEqual(values: readonly unknown[], want: unknown): boolean {
  if (typeof want === 'string') {
    for (let i = 0; i < values.length; i++) if (values[i] === want) return true;
    return false;
  }
  for (let i = 0; i < values.length; i++) if (jsonEqual(values[i], want)) return true;
  return false;
}

export function compileStringListMatcher(data: unknown): MatcherCompile<StringListMatcher> {
  const spec = isMap(data) ? data : { has: data };
  const tests: StringListMatcher[] = [];
  for (const [op, want] of Object.entries(spec)) {
    switch (op) {
      case 'has':
        tests.push((values) => someEqual(values, want));
        break;
      case 'is':
        tests.push((values) => values.length === 1 && someEqual(values, want));
        break;
      case 'exclude':
        tests.push((values) => !someEqual(values, want));
        break;
      default:
        return { ok: false, message: `unknown string list matcher operator "${op}" (use has, is or exclude)` };
    }
  }
  const single = tests.length === 1 ? tests[0]! : null;
  return {
    ok: true,
    matcher:
      single ??
      ((values) => {
        for (let i = 0; i < tests.length; i++) if (!tests[i]!(values)) return false;
        return true;
      }),
  };
}

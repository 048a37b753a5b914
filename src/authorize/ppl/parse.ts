// The PPL grammar exactly as Pomerium's parser accepts it
// (pom:pkg/policy/parser/grammar.go):
//
//   policy    := rules | [rules, ...]
//   rules     := { allow: body, deny: body }        (either or both; nothing else)
//   body      := { and: [criterion…], or: […], not: […], nor: […] }
//                (`action` is also tolerated in a body, and ignored)
//   criterion := { "<name>[/<subpath>]": <any value> }   (exactly one key)
//
// Operators do not nest: `{and: […]}` inside a list is a criterion named
// `and`, which the compiler rejects as unknown. The rules of one object come
// out allow first, deny second, whatever order they were written in.
// Unlike Pomerium, which stops at the first problem, every problem is
// reported, so `postern check` names them all in one run.
import type { PplAction, PplCriterion, PplPath, PplPolicy, PplProblem, PplRule } from './ast.js';

export type PplParse = { readonly ok: true; readonly policy: PplPolicy } | { readonly ok: false; readonly problems: readonly PplProblem[] };

type PlainObject = Record<string, unknown>;

function isObject(v: unknown): v is PlainObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The JSON type of a value, for messages. */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'map';
  return typeof v;
}

class Parser {
  readonly problems: PplProblem[] = [];

  problem(path: PplPath, message: string): void {
    this.problems.push({ path, message });
  }

  policy(value: unknown, path: PplPath): PplRule[] {
    if (Array.isArray(value)) {
      const rules: PplRule[] = [];
      value.forEach((item, i) => {
        if (isObject(item)) rules.push(...this.rules(item, [...path, i]));
        else this.problem([...path, i], `must be a map of allow/deny rules, not a ${typeName(item)}`);
      });
      return rules;
    }
    if (isObject(value)) return this.rules(value, path);
    this.problem(path, `must be a map of allow/deny rules, or a list of them; not a ${typeName(value)}`);
    return [];
  }

  rules(o: PlainObject, path: PplPath): PplRule[] {
    const rules: PplRule[] = [];
    for (const [key, body] of Object.entries(o)) {
      const at = [...path, key];
      if (key !== 'allow' && key !== 'deny') {
        this.problem(at, `unsupported action "${key}": a rule is either allow or deny`);
        continue;
      }
      if (!isObject(body)) {
        this.problem(at, `must be a map of and/or/not/nor lists, not a ${typeName(body)}`);
        continue;
      }
      rules.push(this.rule(key, body, at));
    }
    // Pomerium sorts by action: allow before deny.
    return rules.sort((a, b) => (a.action === b.action ? 0 : a.action === 'allow' ? -1 : 1));
  }

  rule(action: PplAction, body: PlainObject, path: PplPath): PplRule {
    for (const key of Object.keys(body)) {
      if (key !== 'and' && key !== 'or' && key !== 'not' && key !== 'nor' && key !== 'action') {
        this.problem([...path, key], `unsupported conditional "${key}": only and, or, not and nor are allowed`);
      }
    }
    return {
      action,
      and: this.criteria(body, 'and', path),
      or: this.criteria(body, 'or', path),
      not: this.criteria(body, 'not', path),
      nor: this.criteria(body, 'nor', path),
      path,
    };
  }

  criteria(body: PlainObject, operator: string, rulePath: PplPath): PplCriterion[] {
    if (!Object.hasOwn(body, operator)) return [];
    const list = body[operator];
    const path = [...rulePath, operator];
    if (!Array.isArray(list)) {
      this.problem(path, `must be a list of criteria, not a ${typeName(list)}`);
      return [];
    }
    const out: PplCriterion[] = [];
    list.forEach((item, i) => {
      const at = [...path, i];
      if (!isObject(item)) {
        this.problem(at, `a criterion is a map with one key (e.g. "email: {is: a@example.com}"), not a ${typeName(item)}`);
        return;
      }
      const keys = Object.keys(item);
      if (keys.length !== 1) {
        this.problem(at, `a criterion has exactly one key, this one has ${keys.length === 0 ? 'none' : `${keys.length} (${keys.join(', ')})`}`);
        return;
      }
      const key = keys[0]!;
      const slash = key.indexOf('/');
      out.push({
        name: slash < 0 ? key : key.slice(0, slash),
        subPath: slash < 0 ? '' : key.slice(slash + 1),
        data: item[key],
        path: [...at, key],
      });
    });
    return out;
  }
}

/**
 * Parses a policy given as plain JSON data (YAML is read into the same
 * shape). `base` prefixes every path, e.g. `['policy']` for a route's key.
 */
export function parsePpl(value: unknown, base: PplPath = []): PplParse {
  const parser = new Parser();
  const rules = parser.policy(value, base);
  if (parser.problems.length > 0) return { ok: false, problems: parser.problems };
  return { ok: true, policy: { rules } };
}

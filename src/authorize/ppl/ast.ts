// The Pomerium Policy Language as data: what the parser produces and the
// compiler consumes. Every rule and criterion remembers where it came from
// (a path inside the route), so errors and explanations can point at it.

export type PplAction = 'allow' | 'deny';
export type PplOperator = 'and' | 'or' | 'not' | 'nor';

/** The four operators in the order Pomerium's generator emits them for a rule. */
export const OPERATORS: readonly PplOperator[] = ['and', 'or', 'not', 'nor'];

/** Map keys and list indexes from the route down to a value, e.g. `['policy', 'allow', 'and', 0, 'email']`. */
export type PplPath = readonly (string | number)[];

export interface PplCriterion {
  /** Before the first `/` of the key: `claim` for `claim/groups`. */
  readonly name: string;
  /** After the first `/`; '' when the key has none. */
  readonly subPath: string;
  /** The criterion's value, plain JSON as written. */
  readonly data: unknown;
  /** Path of the criterion's key. */
  readonly path: PplPath;
}

export interface PplRule {
  readonly action: PplAction;
  readonly and: readonly PplCriterion[];
  readonly or: readonly PplCriterion[];
  readonly not: readonly PplCriterion[];
  readonly nor: readonly PplCriterion[];
  /** Path of the rule's `allow`/`deny` key; empty for the rule made from the route's allow options. */
  readonly path: PplPath;
}

export interface PplPolicy {
  readonly rules: readonly PplRule[];
}

/** Something wrong in a policy: where, and what. */
export interface PplProblem {
  readonly path: PplPath;
  readonly message: string;
}

/** The key of a criterion as written: `claim/groups`. */
export function criterionKey(c: PplCriterion): string {
  return c.subPath === '' ? c.name : `${c.name}/${c.subPath}`;
}

/** `policy.allow.and[1].email`: names joined with dots, indexes in brackets, after `base` when given. */
export function formatPath(path: PplPath, base = ''): string {
  let out = base;
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

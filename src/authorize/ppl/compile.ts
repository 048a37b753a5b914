// A parsed policy compiled into closures, once per configuration. The
// semantics are those of the Rego Pomerium generates
// (pom:pkg/policy/generator, pom:pkg/policy/rules):
//
// - every operator list of every rule is one block; `and` needs all its
//   criteria true, `or` one; `not` inverts each criterion then needs all
//   (¬A ∧ ¬B), `nor` inverts each then needs one (¬A ∨ ¬B: NAND, despite
//   the name);
// - a block keeps the reasons of the criteria that agree with its result:
//   all of them when `and` holds, the failing ones when it does not; the
//   passing ones when `or` holds, all of them when it does not. Inversion
//   flips the value, never the reason (a matching `email` under `not`
//   yields false with email-ok);
// - all the blocks of one action (allow, or deny) are OR'd, and keep the
//   reasons of the blocks that agree with the result the same way;
// - an action without blocks is [false, no reasons].
//
// Evaluation runs every criterion (reasons need them all), allocates only
// the result object, and reuses per-block scratch space, which is safe
// because evaluation is synchronous.
import type { PolicyInput } from '../input.js';
import { criterionKey, OPERATORS, type PplAction, type PplCriterion, type PplOperator, type PplPath, type PplPolicy, type PplProblem } from './ast.js';
import type { CriterionTest, InputPart, Outcome } from './criterion.js';
import { CRITERIA } from './criteria/index.js';
import { reasonsOf, unionMasks, type Reason } from './reasons.js';

export interface PolicyResult {
  readonly allow: boolean;
  readonly deny: boolean;
  /** Pomerium's allow-why-true / allow-why-false, sorted. */
  readonly allowReasons: readonly Reason[];
  /** Pomerium's deny-why-true / deny-why-false, sorted. */
  readonly denyReasons: readonly Reason[];
}

export interface CriterionExplanation {
  /** As written, e.g. `claim/groups`. */
  readonly key: string;
  readonly data: unknown;
  readonly path: PplPath;
  /** The criterion's own value. */
  readonly value: boolean;
  /** The value its block combined: inverted under not/nor. */
  readonly counted: boolean;
  readonly reason: Reason;
  /** Its reason is among the reasons its block kept, and the block's among its action's. */
  readonly decisive: boolean;
}

export interface BlockExplanation {
  readonly action: PplAction;
  readonly operator: PplOperator;
  /** The rule's path (empty for the rule made from the route's allow options). */
  readonly rulePath: PplPath;
  readonly value: boolean;
  /** Its reasons are among its action's. */
  readonly decisive: boolean;
  readonly criteria: readonly CriterionExplanation[];
}

export interface PolicyExplanation {
  readonly result: PolicyResult;
  /** Every block, allow blocks first, each in policy order. */
  readonly blocks: readonly BlockExplanation[];
}

/** What a policy's decision depends on besides the route: a cache must not outlive a change in any of these. */
export type PolicyReads = Readonly<Record<InputPart, boolean>>;

export interface CompiledPolicy {
  readonly reads: PolicyReads;
  evaluate(input: PolicyInput): PolicyResult;
  /** The same evaluation, with every block and criterion's part in it. */
  explain(input: PolicyInput): PolicyExplanation;
}

export type PolicyCompile = { readonly ok: true; readonly policy: CompiledPolicy } | { readonly ok: false; readonly problems: readonly PplProblem[] };

class Block {
  readonly all: boolean;
  readonly inverted: boolean;
  /** The outcome of each criterion in the last run. */
  readonly outcomes: Outcome[];
  value = false;
  mask = 0;

  constructor(
    readonly action: PplAction,
    readonly operator: PplOperator,
    readonly rulePath: PplPath,
    readonly criteria: readonly PplCriterion[],
    readonly tests: readonly CriterionTest[],
  ) {
    this.all = operator === 'and' || operator === 'not';
    this.inverted = operator === 'not' || operator === 'nor';
    this.outcomes = new Array<Outcome>(tests.length);
  }

  run(input: PolicyInput): boolean {
    const { tests, outcomes, inverted } = this;
    let anyTrue = false;
    let anyFalse = false;
    let trueMask = 0;
    let falseMask = 0;
    for (let i = 0; i < tests.length; i++) {
      const o = tests[i]!(input);
      outcomes[i] = o;
      if (o.value !== inverted) {
        anyTrue = true;
        trueMask = unionMasks(trueMask, o.mask);
      } else {
        anyFalse = true;
        falseMask = unionMasks(falseMask, o.mask);
      }
    }
    const value = this.all ? !anyFalse : anyTrue;
    this.value = value;
    this.mask = value ? trueMask : falseMask;
    return value;
  }
}

/** Reasons of the last runAction; evaluation is synchronous, so one slot serves every policy. */
let actionMask = 0;

/** OR over an action's blocks, keeping the reasons of the blocks that agree with the result. */
function runAction(blocks: readonly Block[], input: PolicyInput): boolean {
  let anyTrue = false;
  let trueMask = 0;
  let falseMask = 0;
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (b.run(input)) {
      anyTrue = true;
      trueMask = unionMasks(trueMask, b.mask);
    } else {
      falseMask = unionMasks(falseMask, b.mask);
    }
  }
  actionMask = anyTrue ? trueMask : falseMask;
  return anyTrue;
}

class Compiled implements CompiledPolicy {
  readonly #allow: readonly Block[];
  readonly #deny: readonly Block[];

  constructor(
    blocks: readonly Block[],
    readonly reads: PolicyReads,
  ) {
    this.#allow = blocks.filter((b) => b.action === 'allow');
    this.#deny = blocks.filter((b) => b.action === 'deny');
  }

  evaluate(input: PolicyInput): PolicyResult {
    const allow = runAction(this.#allow, input);
    const allowReasons = reasonsOf(actionMask);
    const deny = runAction(this.#deny, input);
    return { allow, deny, allowReasons, denyReasons: reasonsOf(actionMask) };
  }

  explain(input: PolicyInput): PolicyExplanation {
    const result = this.evaluate(input);
    const describe = (b: Block, actionValue: boolean): BlockExplanation => {
      const decisive = b.value === actionValue;
      return {
        action: b.action,
        operator: b.operator,
        rulePath: b.rulePath,
        value: b.value,
        decisive,
        criteria: b.criteria.map((c, i) => {
          const o = b.outcomes[i]!;
          const counted = o.value !== b.inverted;
          return { key: criterionKey(c), data: c.data, path: c.path, value: o.value, counted, reason: o.reason, decisive: decisive && counted === b.value };
        }),
      };
    };
    return {
      result,
      blocks: [...this.#allow.map((b) => describe(b, result.allow)), ...this.#deny.map((b) => describe(b, result.deny))],
    };
  }
}

export function compilePolicy(policy: PplPolicy): PolicyCompile {
  const problems: PplProblem[] = [];
  const blocks: Block[] = [];
  const reads: Record<InputPart, boolean> = { identity: false, request: false, clientCertificate: false, clock: false };
  for (const rule of policy.rules) {
    for (const operator of OPERATORS) {
      const criteria = rule[operator];
      if (criteria.length === 0) continue;
      const place = { action: rule.action, inverted: operator === 'not' || operator === 'nor' };
      const tests: CriterionTest[] = [];
      for (const c of criteria) {
        const spec = CRITERIA.get(c.name);
        if (spec === undefined) {
          problems.push({ path: c.path, message: `unknown policy criterion "${c.name}"` });
          continue;
        }
        const compiled = spec.compile(c.data, c.subPath, place);
        if (!compiled.ok) {
          problems.push({ path: c.path, message: compiled.message });
          continue;
        }
        if (spec.reads !== null) reads[spec.reads] = true;
        tests.push(compiled.test);
      }
      blocks.push(new Block(rule.action, operator, rule.path, criteria, tests));
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, policy: new Compiled(blocks, Object.freeze(reads)) };
}

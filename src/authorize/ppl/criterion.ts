// What a criterion is: a name, the part of the input it reads, and a
// compile step that turns its data into a test. A test is a pure function of
// the input returning a shared, frozen outcome (value and reason), so
// evaluating a criterion allocates nothing.
import type { PolicyIdentity, PolicyInput } from '../input.js';
import type { PplAction } from './ast.js';
import { reasonMask, type Reason } from './reasons.js';

export interface Outcome {
  readonly value: boolean;
  readonly reason: Reason;
  /** reasonMask(reason), precomputed. */
  readonly mask: number;
}

export function outcome(value: boolean, reason: Reason): Outcome {
  return Object.freeze({ value, reason, mask: reasonMask(reason) });
}

export type CriterionTest = (input: PolicyInput) => Outcome;

/** Where a criterion sits in the policy. */
export interface CriterionPlace {
  readonly action: PplAction;
  /** Under `not` or `nor`, whose value is inverted before it is combined. */
  readonly inverted: boolean;
}

/**
 * The value that pushes a decision towards denial from this place: false
 * under allow, true under deny, the other way round when inverted. Every
 * operator is monotone in each criterion, so a criterion that cannot know
 * its answer and returns this can only make the decision stricter.
 */
export function denyingValue(place: CriterionPlace): boolean {
  return (place.action === 'deny') !== place.inverted;
}

/** The part of the input a criterion depends on (for decision caches). */
export type InputPart = 'identity' | 'request' | 'clientCertificate' | 'clock';

export type CriterionCompile = { readonly ok: true; readonly test: CriterionTest } | { readonly ok: false; readonly message: string };

export interface CriterionSpec {
  readonly name: string;
  /** null: the criterion reads nothing (accept, reject). */
  readonly reads: InputPart | null;
  compile(data: unknown, subPath: string, place: CriterionPlace): CriterionCompile;
}

export const USER_UNAUTHENTICATED = outcome(false, 'user-unauthenticated');

/**
 * A criterion about the signed-in user. Without a session it is
 * `[false, user-unauthenticated]`, which is what turns a denial into a login
 * (pom:pkg/policy/criteria/criteria.go NewCriterionSessionRule).
 */
export function sessionTest(pass: Reason, fail: Reason, holds: (identity: PolicyIdentity) => boolean): CriterionTest {
  const ok = outcome(true, pass);
  const no = outcome(false, fail);
  return (input) => {
    const identity = input.identity;
    if (identity === null) return USER_UNAUTHENTICATED;
    return holds(identity) ? ok : no;
  };
}

/** A criterion on the request alone (pom NewCriterionRule): pass or fail, no session needed. */
export function requestTest(pass: Reason, fail: Reason, holds: (input: PolicyInput) => boolean): CriterionTest {
  const ok = outcome(true, pass);
  const no = outcome(false, fail);
  return (input) => (holds(input) ? ok : no);
}

export function compiled(test: CriterionTest): CriterionCompile {
  return { ok: true, test };
}

export function refused(message: string): CriterionCompile {
  return { ok: false, message };
}

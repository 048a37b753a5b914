// `groups`: a string-list matcher on the user's groups (the provider's
// `groups` claim). Pomerium reads directory-sync records here; Postern reads
// the token, which is where self-hosted providers put groups.
//
// When the token says the groups were left out (overage: the input's
// `groups` is null), the answer is unknown. The criterion then returns the
// value that denies from where it stands (false under allow, true under
// deny, inverted under not/nor) with the reason `groups-unavailable`, so an
// unknown list never grants access and never escapes a deny rule.
import { compiled, denyingValue, outcome, refused, sessionTest, type CriterionPlace, type CriterionSpec, type CriterionTest } from '../criterion.js';
import type { PolicyIdentity } from '../../input.js';
import { compileStringListMatcher, type StringListMatcher } from '../matchers.js';
import type { Reason } from '../reasons.js';

/** A test on the user's group list that fails closed when the list is unknown. */
export function groupListTest(
  matcher: StringListMatcher,
  pass: Reason,
  fail: Reason,
  place: CriterionPlace,
  values: (identity: PolicyIdentity) => readonly unknown[],
): CriterionTest {
  const unavailable = outcome(denyingValue(place), 'groups-unavailable');
  const known = sessionTest(pass, fail, (identity) => matcher(values(identity)));
  return (input) => (input.identity !== null && input.identity.groups === null ? unavailable : known(input));
}

export const groups: CriterionSpec = {
  name: 'groups',
  reads: 'identity',
  compile(data, _subPath, place) {
    const m = compileStringListMatcher(data);
    if (!m.ok) return refused(m.message);
    return compiled(groupListTest(m.matcher, 'groups-ok', 'groups-unauthorized', place, (identity) => identity.groups ?? []));
  },
};

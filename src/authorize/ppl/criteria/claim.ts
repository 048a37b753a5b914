// `claim/<name>`: a string-list matcher on one claim of the user's token.
// Claims are flattened as Pomerium stores them, so a nested claim is
// reached with dots (`claim/address.country`), and a name containing `/`
// (`claim/example.com/key`) is looked up whole. A claim the user does not
// have is an empty list. `claim/groups` under group overage fails closed like
// the `groups` criterion.
import { compiled, refused, sessionTest, type CriterionSpec } from '../criterion.js';
import type { PolicyIdentity } from '../../input.js';
import { compileStringListMatcher } from '../matchers.js';
import { groupListTest } from './groups.js';

const NONE: readonly unknown[] = Object.freeze([]);

export const claim: CriterionSpec = {
  name: 'claim',
  reads: 'identity',
  compile(data, subPath, place) {
    const m = compileStringListMatcher(data);
    if (!m.ok) return refused(m.message);
    const { matcher } = m;
    const values = (identity: PolicyIdentity): readonly unknown[] => {
      const v = identity.claims[subPath];
      return Array.isArray(v) ? v : NONE;
    };
    if (subPath === 'groups') return compiled(groupListTest(matcher, 'claim-ok', 'claim-unauthorized', place, values));
    return compiled(sessionTest('claim-ok', 'claim-unauthorized', (identity) => matcher(values(identity))));
  },
};

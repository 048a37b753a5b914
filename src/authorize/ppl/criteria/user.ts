// `user`: a string matcher on the user id (the provider's `sub`; a service
// account's configured user id).
import { compiled, refused, sessionTest, type CriterionSpec } from '../criterion.js';
import { compileStringMatcher } from '../matchers.js';

export const user: CriterionSpec = {
  name: 'user',
  reads: 'identity',
  compile(data) {
    const m = compileStringMatcher(data);
    if (!m.ok) return refused(m.message);
    const { matcher } = m;
    return compiled(sessionTest('user-ok', 'user-unauthorized', (identity) => matcher.matches(identity.userId)));
  },
};

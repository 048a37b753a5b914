// `email`: a string matcher on the user's email address, case-sensitive as
// in Pomerium.
import { compiled, refused, sessionTest, type CriterionSpec } from '../criterion.js';
import { compileStringMatcher } from '../matchers.js';

export const email: CriterionSpec = {
  name: 'email',
  reads: 'identity',
  compile(data) {
    const m = compileStringMatcher(data);
    if (!m.ok) return refused(m.message);
    const { matcher } = m;
    return compiled(sessionTest('email-ok', 'email-unauthorized', (identity) => matcher.matches(identity.email)));
  },
};

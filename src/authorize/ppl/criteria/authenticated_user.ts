// `authenticated_user`: somebody is signed in with a non-empty user id
// (service accounts count). Its value is ignored.
import { compiled, sessionTest, type CriterionSpec } from '../criterion.js';

const test = sessionTest('user-ok', 'user-unauthorized', (identity) => identity.userId !== '');

export const authenticatedUser: CriterionSpec = {
  name: 'authenticated_user',
  reads: 'identity',
  compile: () => compiled(test),
};

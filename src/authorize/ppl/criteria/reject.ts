// `reject`: always false. Its value is ignored.
import { compiled, outcome, type CriterionSpec } from '../criterion.js';

const REJECTED = outcome(false, 'reject');

export const reject: CriterionSpec = {
  name: 'reject',
  reads: null,
  compile: () => compiled(() => REJECTED),
};

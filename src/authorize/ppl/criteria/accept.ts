// `accept`: always true (what allow_public_unauthenticated_access becomes). Its value is ignored.
import { compiled, outcome, type CriterionSpec } from '../criterion.js';

const ACCEPTED = outcome(true, 'accept');

export const accept: CriterionSpec = {
  name: 'accept',
  reads: null,
  compile: () => compiled(() => ACCEPTED),
};

// `invalid_client_certificate`: true when the client presented no
// certificate (client-certificate-required) or one that does not chain to
// the client CA (invalid-client-certificate); false for a valid one
// (valid-client-certificate). Used in deny rules; either true reason turns
// the denial into a 495. Its value is ignored.
import { compiled, outcome, type CriterionSpec } from '../criterion.js';

const VALID = outcome(false, 'valid-client-certificate');
const REQUIRED = outcome(true, 'client-certificate-required');
const INVALID = outcome(true, 'invalid-client-certificate');

export const invalidClientCertificate: CriterionSpec = {
  name: 'invalid_client_certificate',
  reads: 'clientCertificate',
  compile: () =>
    compiled((input) => {
      const cert = input.clientCertificate;
      if (cert !== null && cert.valid) return VALID;
      if (cert === null || !cert.presented) return REQUIRED;
      return INVALID;
    }),
};

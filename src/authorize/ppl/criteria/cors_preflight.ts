// `cors_preflight`: an OPTIONS request carrying both Origin and
// Access-Control-Request-Method (what cors_allow_preflight becomes). Its
// value is ignored.
import { compiled, requestTest, type CriterionSpec } from '../criterion.js';

function hasHeader(headers: readonly string[], lname: string): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === lname) return true;
  return false;
}

const test = requestTest(
  'cors-request',
  'non-cors-request',
  (input) =>
    input.request.method === 'OPTIONS' &&
    hasHeader(input.request.headers, 'access-control-request-method') &&
    hasHeader(input.request.headers, 'origin'),
);

export const corsPreflight: CriterionSpec = {
  name: 'cors_preflight',
  reads: 'request',
  compile: () => compiled(test),
};

// `http_path`: a string matcher on the normalised, percent-decoded path
// (no query) — the same path the router matched and the upstream receives.
import { compiled, refused, requestTest, type CriterionSpec } from '../criterion.js';
import { compileStringMatcher } from '../matchers.js';

export const httpPath: CriterionSpec = {
  name: 'http_path',
  reads: 'request',
  compile(data) {
    const m = compileStringMatcher(data);
    if (!m.ok) return refused(m.message);
    const { matcher } = m;
    return compiled(requestTest('http-path-ok', 'http-path-unauthorized', (input) => matcher.matches(input.request.path)));
  },
};

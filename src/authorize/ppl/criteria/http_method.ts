// `http_method`: a string matcher on the request method as sent (methods are case-sensitive).
import { compiled, refused, requestTest, type CriterionSpec } from '../criterion.js';
import { compileStringMatcher } from '../matchers.js';

export const httpMethod: CriterionSpec = {
  name: 'http_method',
  reads: 'request',
  compile(data) {
    const m = compileStringMatcher(data);
    if (!m.ok) return refused(m.message);
    const { matcher } = m;
    return compiled(requestTest('http-method-ok', 'http-method-unauthorized', (input) => matcher.matches(input.request.method)));
  },
};

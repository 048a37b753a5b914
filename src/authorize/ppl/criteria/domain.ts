// `domain`: a string matcher on the domain of the user's email address.
// Two deliberate departures from Pomerium, which takes
// `split(email, "@")[1]` and compares case-sensitively:
// - domains compare case-insensitively (DNS names are);
// - an address with more than one `@` (or nothing on either side of it)
//   has no domain and matches nothing, whatever the operator: Pomerium
//   would read `a@evil.com@corp.com` as being in `evil.com`.
import { compiled, refused, sessionTest, type CriterionSpec } from '../criterion.js';
import { compileStringMatcher } from '../matchers.js';

/** The lower-cased part after the only `@`, or null. */
export function emailDomain(email: string): string | null {
  const at = email.indexOf('@');
  if (at <= 0 || at === email.length - 1 || email.indexOf('@', at + 1) >= 0) return null;
  return email.slice(at + 1).toLowerCase();
}

export const domain: CriterionSpec = {
  name: 'domain',
  reads: 'identity',
  compile(data) {
    const m = compileStringMatcher(data, { lowerCase: true });
    if (!m.ok) return refused(m.message);
    const { matcher } = m;
    // The same user asks again and again: remember the last address's domain.
    let lastEmail = '';
    let lastDomain: string | null = null;
    return compiled(
      sessionTest('domain-ok', 'domain-unauthorized', (identity) => {
        if (identity.email !== lastEmail) {
          lastEmail = identity.email;
          lastDomain = emailDomain(lastEmail);
        }
        return lastDomain !== null && matcher.matches(lastDomain);
      }),
    );
  },
};

// The PPL checks `postern check` runs on every route's policy: each problem
// at its line, under its key, naming the criterion.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { checkConfig } from '../../src/config/check.js';
import { base, Fixture, problemFor } from './support.js';

const fx = new Fixture();
after(() => fx.remove());

/** One route; `body` lines (indented 4) start at line 7. */
function oneRoute(body: string): string {
  return `${base()}routes:\n  - from: https://a.example.com\n    to: http://127.0.0.1:9000\n${body}`;
}

test('an unknown criterion is reported at its line, under its key', () => {
  const problems = fx.problems(oneRoute('    policy:\n      allow:\n        and:\n          - domain: example.com\n          - emial: a@example.com\n'));
  const p = problemFor(problems, 'routes[0].policy.allow.and[1].emial');
  assert.equal(p.line, 11);
  assert.match(p.message, /unknown policy criterion "emial"/);
});

test('a criterion with bad data names the criterion and what is wrong', () => {
  const problems = fx.problems(oneRoute('    policy:\n      - deny:\n          or:\n            - source_ip: [10.0.0.0/8, nope]\n'));
  const p = problemFor(problems, 'routes[0].policy[0].deny.or[0].source_ip');
  assert.equal(p.line, 10);
  assert.match(p.message, /expected an IP address or CIDR range, got "nope"/);
});

test('grammar problems are reported where they are, all of them', () => {
  const problems = fx.problems(oneRoute('    policy:\n      allow:\n        iff: []\n        and: {email: x}\n      permit: {}\n'));
  assert.match(problemFor(problems, 'routes[0].policy.allow.iff').message, /unsupported conditional "iff"/);
  assert.match(problemFor(problems, 'routes[0].policy.allow.and').message, /must be a list of criteria/);
  assert.equal(problemFor(problems, 'routes[0].policy.permit').line, 11);
});

test('postern check prints each policy problem as file:line: key: message', () => {
  const file = fx.config(oneRoute('    policy:\n      allow:\n        or:\n          - http_path: {starts_with: 5}\n'));
  const result = checkConfig(file, {});
  assert.equal(result.ok, false);
  assert.ok(
    result.lines.includes(`${file}:10: routes[0].policy.allow.or[0].http_path: starts_with needs a string, not a number`),
    result.lines.join('\n'),
  );
});

test('a valid policy loads, and the allow options next to it are unchanged', () => {
  const { config } = fx.load(oneRoute('    allowed_domains: [example.com]\n    policy:\n      allow:\n        and:\n          - groups: {has: admins}\n          - http_path: {starts_with: /admin}\n'));
  assert.deepEqual(config.routes[0]?.access.allowedDomains, ['example.com']);
});

test('Pomerium’s combination rules for the allow options still hold', () => {
  const problems = fx.problems(oneRoute('    allow_public_unauthenticated_access: true\n    allowed_users: [a]\n'));
  assert.match(problemFor(problems, 'routes[0].allow_public_unauthenticated_access').message, /cannot be combined/);
  const more = fx.problems(oneRoute('    allow_any_authenticated_user: true\n    allowed_domains: []\n'));
  assert.match(problemFor(more, 'routes[0].allow_any_authenticated_user').message, /cannot be combined/);
});

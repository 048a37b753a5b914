import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowAnd, evaluate, NOTHING, problemsOf, type Verdict } from '../support.js';

const OK: Verdict = [true, ['source-ip-ok']];
const NO: Verdict = [false, ['source-ip-unauthorized']];
const LIST = '\n  - "10.0.0.1"\n  - "10.0.0.2"\n  - "10.0.0.3"';

const cases: ReadonlyArray<readonly [string, string, string, Verdict]> = [
  ['single IPv4 match', '"1.2.3.4"', '1.2.3.4', OK],
  ['single IPv4 no match', '"1.2.3.4"', '1.2.3.5', NO],
  ['IPv4 range match', '"192.168.1.1/24"', '192.168.1.200', OK],
  ['IPv4 range no match', '"192.168.1.1/24"', '192.168.2.1', NO],
  ['single IPv6 match', '"2001:db8::1"', '2001:db8::1', OK],
  ['single IPv6 no match', '"2001:db8::1"', '2001:db8::2', NO],
  ['IPv6 range match', '"2001:db8::/32"', '2001:db8:1:2:3:4:5:6', OK],
  ['IPv6 range no match', '"2001:db8::/32"', '2001:ffff:1:2:3:4:5:6', NO],
  ['list of IPs match', LIST, '10.0.0.2', OK],
  ['list of IPs no match', LIST, '10.0.0.4', NO],
  ['IPv4-mapped IPv6 range', '"::ffff:10.0.0.0/104"', '10.1.2.3', OK],
  ['IPv4-mapped IPv6 address', '"::ffff:1.2.3.4"', '1.2.3.4', OK],
  ['an IPv4-mapped client matches an IPv4 range', '"10.0.0.0/8"', '::ffff:10.9.8.7', OK],
  ['an IPv6 range never holds an IPv4 client', '"::/0"', '10.0.0.1', NO],
  ['/0 holds every IPv4 client', '"0.0.0.0/0"', '203.0.113.9', OK],
  ['an unparsable client address matches nothing', '"0.0.0.0/0"', 'unknown', NO],
  ['a client address with a zone matches nothing', '"::/0"', 'fe80::1%eth0', NO],
];

for (const [name, data, ip, allow] of cases) {
  test(`source_ip: ${name}`, () => {
    assert.deepEqual(evaluate(allowAnd(`source_ip: ${data}`), { ip }), { allow, deny: NOTHING });
  });
}

const refusals: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['invalid IP address', 'not-an-ip-address', /expected an IP address or CIDR range, got "not-an-ip-address"/],
  ['invalid input type', '{key: value}', /expected an address or CIDR range, or a list of them; not a map/],
  ['invalid list element type', '[{key: value}]', /expected an address or CIDR range, not a map/],
  ['prefix too long', '"10.0.0.0/33"', /got "10.0.0.0\/33"/],
  ['leading zero', '"010.0.0.1"', /got "010.0.0.1"/],
];

for (const [name, data, message] of refusals) {
  test(`source_ip refuses: ${name}`, () => {
    assert.match(problemsOf(allowAnd(`source_ip: ${data}`))[0]!, message);
  });
}

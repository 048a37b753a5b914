import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseFrom } from '../../src/config/from.js';

const valid: ReadonlyArray<readonly [string, 'http' | 'https', string, number | null, boolean]> = [
  ['https://app.example.com', 'https', 'app.example.com', null, false],
  ['https://app.example.com/', 'https', 'app.example.com', null, false],
  ['HTTPS://App.Example.COM', 'https', 'app.example.com', null, false],
  ['http://localhost', 'http', 'localhost', null, false],
  ['https://app.example.com:8443', 'https', 'app.example.com', 8443, false],
  ['https://app.example.com:443', 'https', 'app.example.com', 443, false],
  ['https://*.example.com', 'https', '*.example.com', null, true],
  ['https://app-*.example.com:9443', 'https', 'app-*.example.com', 9443, true],
  ['https://*', 'https', '*', null, true],
  ['https://[::1]:8443', 'https', '[::1]', 8443, false],
  ['https://127.0.0.1', 'https', '127.0.0.1', null, false],
];

test('parseFrom reads the scheme, lower-cased host and optional port', () => {
  for (const [raw, scheme, host, port, wildcard] of valid) {
    const parsed = parseFrom(raw);
    assert.ok(parsed.ok, raw);
    assert.equal(parsed.value.from.scheme, scheme, raw);
    assert.equal(parsed.value.from.host, host, raw);
    assert.equal(parsed.value.from.port, port, raw);
    assert.equal(parsed.value.from.raw, raw);
    assert.equal(parsed.value.from.wildcard !== null, wildcard, raw);
  }
});

const invalid: ReadonlyArray<readonly [string, RegExp]> = [
  ['https://app.example.com/admin', /contains a path, but it should be set using the path field/],
  ['https://app.example.com/a/b', /contains a path/],
  ['app.example.com', /absolute URL/],
  ['ftp://app.example.com', /unsupported scheme "ftp"/],
  ['tcp+https://proxy.example.com:8443/target:22', /tcp\+https:\/\/ routes are not supported yet/],
  ['udp+https://proxy.example.com', /not supported yet/],
  ['ssh://proxy.example.com', /not supported yet/],
  ['https://user:pass@app.example.com', /user name or password/],
  ['https://', /must have a host/],
  ['https://:443', /must have a host/],
  ['https://app.example.com:0', /port from 1 to 65535/],
  ['https://app.example.com:99999', /port/],
  ['https://app.example.com:x', /port/],
  ['https://bücher.example', /xn--/],
  ['https://a b', /host name/],
  ['https://[::1', /unclosed/],
  ['https://[zz]', /IPv6/],
];

test('parseFrom refuses paths (with Pomerium’s message), other schemes, credentials and bad hosts', () => {
  for (const [raw, message] of invalid) {
    const parsed = parseFrom(raw);
    assert.equal(parsed.ok, false, raw);
    if (!parsed.ok) assert.match(parsed.error, message, raw);
  }
});

test('a query or fragment in from is accepted with a warning, as Pomerium ignores it', () => {
  const parsed = parseFrom('https://app.example.com?x=1');
  assert.ok(parsed.ok);
  assert.equal(parsed.value.warning, 'the query or fragment is ignored');
});

test('a wildcard host matches any characters (dots included) where * stands, anchored and case-insensitively', () => {
  const wildcard = (raw: string): RegExp => {
    const parsed = parseFrom(raw);
    assert.ok(parsed.ok && parsed.value.from.wildcard !== null);
    return parsed.value.from.wildcard;
  };
  const sub = wildcard('https://*.example.com');
  assert.ok(sub.test('app.example.com'));
  assert.ok(sub.test('a.b.example.com'));
  assert.ok(sub.test('APP.Example.com'));
  assert.ok(!sub.test('example.com'));
  assert.ok(!sub.test('app.example.com.evil.net'));
  assert.ok(!sub.test('appxexample.com'));
  const middle = wildcard('https://app-*.example.com');
  assert.ok(middle.test('app-1.example.com'));
  assert.ok(!middle.test('app.example.com'));
  const label = fc.stringMatching(/^[a-z0-9-]{1,10}$/);
  fc.assert(
    fc.property(fc.array(label, { minLength: 1, maxLength: 3 }), (labels) => {
      assert.ok(sub.test(`${labels.join('.')}.example.com`));
      assert.ok(!sub.test(`${labels.join('.')}.example.org`));
    }),
  );
});

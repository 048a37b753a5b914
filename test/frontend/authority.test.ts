import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAuthority } from '../../src/frontend/authority.js';

const parsed: ReadonlyArray<readonly [string, string, number | null]> = [
  ['example.com', 'example.com', null],
  ['a', 'a', null],
  ['localhost', 'localhost', null],
  ['Example.COM', 'example.com', null],
  ['example.com.', 'example.com', null],
  ['EXAMPLE.com.', 'example.com', null],
  ['example.com:443', 'example.com', 443],
  ['example.com.:8443', 'example.com', 8443],
  ['example.com:1', 'example.com', 1],
  ['example.com:65535', 'example.com', 65535],
  ['example.com:0080', 'example.com', 80],
  ['xn--bcher-kva.example', 'xn--bcher-kva.example', null],
  ['my_service:8080', 'my_service', 8080],
  ['a-b.c~d', 'a-b.c~d', null],
  ['127.0.0.1', '127.0.0.1', null],
  ['127.0.0.1:8080', '127.0.0.1', 8080],
  ['999.1.1.1', '999.1.1.1', null], // not an IPv4 address, but a valid reg-name
  ['[::1]', '[::1]', null],
  ['[::1]:8443', '[::1]', 8443],
  ['[2001:DB8::1]', '[2001:db8::1]', null],
  ['[2001:db8:0:0:0:0:0:1]:443', '[2001:db8:0:0:0:0:0:1]', 443],
  ['[::FFFF:192.0.2.1]:80', '[::ffff:192.0.2.1]', 80],
  ['[1:2:3:4:5:6:7::]', '[1:2:3:4:5:6:7::]', null],
  ['[::]', '[::]', null],
];

test('parseAuthority lower-cases the host, strips one trailing dot and splits the port', () => {
  for (const [input, host, port] of parsed) {
    assert.deepEqual(parseAuthority(input), { host, port }, JSON.stringify(input));
  }
});

const refused: readonly string[] = [
  '',
  ':',
  ':80',
  'example.com:',
  'example.com:0',
  'example.com:00000',
  'example.com:65536',
  'example.com:99999',
  'example.com:000080',
  'example.com:8o',
  'example.com:-1',
  'example.com:+80',
  'example.com: 80',
  'example.com:80 ',
  'example.com:80:80',
  'a:b',
  'user@example.com',
  'user:pass@example.com',
  'example.com@evil.example',
  'example.com/path',
  'example.com/',
  'example.com?x',
  'example.com#x',
  'example.com\\x',
  'exa mple.com',
  ' example.com',
  'example.com ',
  'example.com\t',
  'exa\u0000mple.com',
  'example.com\r\nx-evil: 1',
  'exa\u007fmple.com',
  '.',
  '..',
  '.example.com',
  'a..b',
  'example.com..',
  'example.com.:',
  'a,b.example.com',
  'a;b.example.com',
  '*.example.com',
  "a!$&'()+=b",
  'a%2eb.example.com',
  'ex%41mple.com',
  'exämple.com',
  'example.com\u3002evil', // IDEOGRAPHIC FULL STOP
  '[::1',
  '::1',
  '::1]',
  '[::1]x',
  '[::1]:',
  '[::1]:0',
  '[::1]:65536',
  '[::1]]',
  '[[::1]]',
  '[]',
  '[example.com]',
  '[127.0.0.1]',
  '[v1.fe]',
  '[fe80::1%25eth0]',
  '[fe80::1%eth0]',
  '[1:2:3:4:5:6:7:8:9]',
  '[1:2:3:4:5:6:7]',
  '[::1::2]',
  '[12345::]',
  '[::256.1.1.1]',
  '[::01.1.1.1]',
  '[ ::1]',
  'example.com[::1]',
];

test('parseAuthority refuses values that are not a host with an optional port', () => {
  for (const input of refused) assert.equal(parseAuthority(input), null, JSON.stringify(input));
});

// ---- properties ----------------------------------------------------------

/** Randomly upper-cases ASCII letters. */
function mixCase(s: string, mask: readonly boolean[]): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += mask[i % Math.max(mask.length, 1)] ? s[i]!.toUpperCase() : s[i]!;
  return out;
}

const caseMask = fc.array(fc.boolean(), { minLength: 1, maxLength: 16 });

/** [what is sent, the host parseAuthority must return] */
const hostForm: fc.Arbitrary<readonly [string, string]> = fc.oneof(
  fc.tuple(fc.domain(), caseMask, fc.boolean()).map(([d, mask, dot]) => [mixCase(d, mask) + (dot ? '.' : ''), d.toLowerCase()] as const),
  fc.ipV4().map((ip) => [ip, ip] as const),
  fc.tuple(fc.ipV6(), caseMask).map(([ip, mask]) => [`[${mixCase(ip, mask)}]`, `[${ip.toLowerCase()}]`] as const),
);
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null });

test('parseAuthority round-trips every generated host[:port]', () => {
  fc.assert(
    fc.property(hostForm, port, ([sent, host], p) => {
      const value = p === null ? sent : `${sent}:${p}`;
      assert.deepEqual(parseAuthority(value), { host, port: p }, value);
    }),
    { numRuns: 5000 },
  );
});

const refusedChar = fc.constantFrom('@', '/', '?', '#', '\\', ' ', '\t', '\u0000', '\r', '\n', '\u007f', ',', ';', '%', '*', '"', '<', 'é', '\u3002');

test('parseAuthority refuses a valid authority with any refused character inserted anywhere', () => {
  fc.assert(
    fc.property(hostForm, port, refusedChar, fc.nat(), ([sent], p, bad, at) => {
      const value = p === null ? sent : `${sent}:${p}`;
      const i = at % (value.length + 1);
      const broken = value.slice(0, i) + bad + value.slice(i);
      assert.equal(parseAuthority(broken), null, JSON.stringify(broken));
    }),
    { numRuns: 5000 },
  );
});

test('parseAuthority never throws, and what it returns is canonical and parses to itself', () => {
  const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
  const authorityLike = fc.string({ unit: fc.constantFrom(...'aZ09-._~:[]@/%.', 'f', 'F', '1'), maxLength: 24, size: 'max' });
  fc.assert(
    fc.property(fc.oneof(authorityLike, fc.string({ unit: anyUnit, maxLength: 24, size: 'max' })), (value) => {
      const result = parseAuthority(value);
      if (result === null) return;
      assert.ok(result.host.length > 0);
      assert.equal(result.host, result.host.toLowerCase());
      assert.ok(!result.host.endsWith('.'));
      assert.ok(result.port === null || (Number.isInteger(result.port) && result.port >= 1 && result.port <= 65535));
      const again = result.port === null ? result.host : `${result.host}:${result.port}`;
      assert.deepEqual(parseAuthority(again), result);
    }),
    { numRuns: 5000 },
  );
});

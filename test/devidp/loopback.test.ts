import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isLoopbackAddress } from '../../src/devidp/loopback.js';

test('only 127.0.0.0/8 and ::1 literals are loopback; names and wildcard addresses are not', () => {
  const table: ReadonlyArray<readonly [string, boolean]> = [
    ['127.0.0.1', true], ['127.255.255.254', true], ['127.0.0.0', true], ['::1', true], ['0:0:0:0:0:0:0:1', true], ['::ffff:127.0.0.1', true],
    ['', false], ['0.0.0.0', false], ['::', false], ['localhost', false], ['128.0.0.1', false], ['126.255.255.255', false],
    ['10.0.0.1', false], ['192.168.1.1', false], ['::2', false], ['::ffff:10.0.0.1', false], ['127.1', false], ['127.0.0.01', false],
    ['127.0.0.1.nip.io', false], ['fe80::1', false], [' 127.0.0.1', false],
  ];
  for (const [host, expected] of table) assert.equal(isLoopbackAddress(host), expected, JSON.stringify(host));
});

test('every IPv4 address is loopback exactly when its first octet is 127', () => {
  fc.assert(
    fc.property(fc.ipV4(), (ip) => isLoopbackAddress(ip) === ip.startsWith('127.')),
    { numRuns: 2000 },
  );
});

test('no IPv6 address but ::1 (and IPv4-mapped 127/8) is loopback', () => {
  fc.assert(
    fc.property(fc.ipV6(), (ip) => {
      const expanded = new URL(`http://[${ip}]/`).hostname;
      const expected = expanded === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(expanded);
      return isLoopbackAddress(ip) === expected;
    }),
    { numRuns: 2000 },
  );
});

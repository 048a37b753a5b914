import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { networkContains, parseIp, parseNetwork } from '../../../src/authorize/ppl/ip.js';

function bytes(text: string): number[] | null {
  const out = new Uint8Array(16);
  return parseIp(text, out) === 0 ? null : [...out];
}

const MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

test('parseIp: IPv4 becomes its IPv4-mapped form; IPv6 in every spelling Go accepts', () => {
  const cases: ReadonlyArray<readonly [string, number[]]> = [
    ['1.2.3.4', [...MAPPED, 1, 2, 3, 4]],
    ['0.0.0.0', [...MAPPED, 0, 0, 0, 0]],
    ['255.255.255.255', [...MAPPED, 255, 255, 255, 255]],
    ['::', new Array<number>(16).fill(0)],
    ['::1', [...new Array<number>(15).fill(0), 1]],
    ['1::', [0, 1, ...new Array<number>(14).fill(0)]],
    ['2001:DB8::ff00:42:8329', [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 0x00, 0x42, 0x83, 0x29]],
    ['::ffff:1.2.3.4', [...MAPPED, 1, 2, 3, 4]],
    ['64:ff9b::192.0.2.33', [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 33]],
    ['1:2:3:4:5:6:7:8', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]],
    ['1:2:3:4:5:6:1.2.3.4', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 1, 2, 3, 4]],
  ];
  for (const [text, want] of cases) assert.deepEqual(bytes(text), want, text);
});

test('parseIp refuses what Go refuses', () => {
  for (const bad of [
    '', '1.2.3', '1.2.3.4.5', '1.2.3.256', '01.2.3.4', '1..2.3', '1.2.3.4 ', ' 1.2.3.4', 'a.b.c.d',
    ':', ':::', '1:::2', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', '12345::', ':1', '1:', 'fe80::1%eth0',
    '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3', 'g::', '[::1]',
  ]) {
    assert.equal(bytes(bad), null, bad);
  }
});

test('property: every IPv6 address parses back from Node’s canonical spelling and from the full one', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 8 }), (raw, at, zeros) => {
      const b = Uint8Array.from(raw);
      b.fill(0, at * 2, Math.min(16, (at + zeros) * 2)); // runs of zero groups exercise '::'
      const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
      const canonical = new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
      assert.deepEqual(bytes(groups.join(':')), [...b]);
      assert.deepEqual(bytes(canonical), [...b], canonical);
    }),
  );
});

function contains(network: string, ip: string): boolean {
  const n = parseNetwork(network);
  assert.ok(n !== null, network);
  const addr = new Uint8Array(16);
  assert.notEqual(parseIp(ip, addr), 0, ip);
  return networkContains(n, addr);
}

test('networks contain addresses as Go’s IPNet.Contains says', () => {
  const cases: ReadonlyArray<readonly [string, string, boolean]> = [
    ['10.0.0.0/8', '10.255.0.1', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['192.168.1.1/24', '192.168.1.200', true],
    ['1.2.3.4', '1.2.3.4', true],
    ['1.2.3.4', '1.2.3.5', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['0.0.0.0/0', '::1', false],
    ['::/0', '::1', true],
    ['::/0', '8.8.8.8', false],
    ['::ffff:10.0.0.0/104', '10.1.2.3', true],
    ['::ffff:10.0.0.0/104', '11.1.2.3', false],
    ['::ffff:1.2.3.4', '1.2.3.4', true],
    ['::ffff:0:0/96', '203.0.113.1', true],
    ['10.0.0.0/8', '::ffff:10.1.1.1', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8::1/128', '2001:db8::1', true],
  ];
  for (const [network, ip, expected] of cases) assert.equal(contains(network, ip), expected, `${network} ∋ ${ip}`);
});

test('parseNetwork refuses malformed ranges', () => {
  for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/x', '10.0.0.0/-1', 'x/8', '10.0.0.0/8/8', 'fe80::%1/64']) {
    assert.equal(parseNetwork(bad), null, bad);
  }
  assert.notEqual(parseNetwork('10.0.0.0/008'), null, 'Go accepts leading zeros in the prefix length');
});

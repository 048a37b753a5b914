import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { appendForwardedFor, clientAddress } from '../../src/proxy/client-address.js';

describe('clientAddress', () => {
  const peer = '192.0.2.5';
  const cases: [xff: string | undefined, hops: number, expected: string][] = [
    // Envoy docs example 1: edge proxy, no trusted hops — XFF ignored.
    ['203.0.113.128, 203.0.113.10, 203.0.113.1', 0, peer],
    // Envoy docs example 3: two trusted proxies in front — the 2nd address from the right.
    ['203.0.113.128, 203.0.113.10, 203.0.113.1', 2, '203.0.113.10'],
    ['203.0.113.128, 203.0.113.10, 203.0.113.1', 1, '203.0.113.1'],
    ['203.0.113.128, 203.0.113.10, 203.0.113.1', 3, '203.0.113.128'],
    // fewer entries than trusted hops: the peer
    ['203.0.113.128, 203.0.113.10, 203.0.113.1', 4, peer],
    [undefined, 1, peer],
    ['', 1, peer],
    // whitespace and missing spaces
    ['1.1.1.1,2.2.2.2', 1, '2.2.2.2'],
    ['1.1.1.1 ,\t2.2.2.2\t', 2, '1.1.1.1'],
    // IPv6
    ['2001:db8::1, 10.0.0.1', 2, '2001:db8::1'],
    // not an address at that position: the peer, as Envoy falls back
    ['evil, 10.0.0.1', 2, peer],
    ['1.2.3.4:5678', 1, peer],
    [', 10.0.0.1', 2, peer],
    [',,,', 2, peer],
    [',,,', 9, peer],
  ];
  for (const [xff, hops, expected] of cases) {
    it(`${JSON.stringify(xff)} with ${hops} trusted hops → ${expected}`, () => {
      assert.equal(clientAddress(xff, peer, hops), expected);
    });
  }

  it('never returns a client-written entry left of the trusted hops', () => {
    const ip = fc.ipV4();
    fc.assert(
      fc.property(fc.array(ip, { maxLength: 5 }), fc.array(ip, { maxLength: 5 }), fc.nat(6), (forged, appended, hops) => {
        const xff = [...forged, ...appended].join(', ');
        const got = clientAddress(xff, '192.0.2.5', hops);
        const all = [...forged, ...appended];
        if (hops === 0 || hops > all.length) assert.equal(got, '192.0.2.5');
        else assert.equal(got, all[all.length - hops]);
      }),
    );
  });
});

describe('appendForwardedFor', () => {
  it('starts the list when there is none', () => {
    assert.equal(appendForwardedFor(undefined, '10.0.0.1'), '10.0.0.1');
    assert.equal(appendForwardedFor('', '10.0.0.1'), '10.0.0.1');
  });
  it('appends the peer to what the client sent', () => {
    assert.equal(appendForwardedFor('1.1.1.1, 2.2.2.2', '10.0.0.1'), '1.1.1.1, 2.2.2.2, 10.0.0.1');
  });
});

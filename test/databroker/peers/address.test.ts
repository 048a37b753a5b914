import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseNodeAddress } from '../../../src/databroker/peers/address.js';

test('node addresses: host:port, IPv6 in brackets, nothing else', () => {
  const good: Array<[string, string, number]> = [
    ['127.0.0.1:5443', '127.0.0.1', 5443],
    ['node-a.cluster.internal:1', 'node-a.cluster.internal', 1],
    ['[::1]:65535', '::1', 65535],
    ['[fe80::1]:80', 'fe80::1', 80],
  ];
  for (const [address, host, port] of good) assert.deepEqual(parseNodeAddress(address), { host, port }, address);
  const bad: Array<[string, RegExp]> = [
    ['127.0.0.1', /no port/],
    ['127.0.0.1:', /no valid port/],
    [':5443', /no host/],
    ['host:0', /outside 1-65535/],
    ['host:65536', /outside/],
    ['host:123456', /no valid port/],
    ['host:+80', /no valid port/],
    ['::1:5443', /IPv6 host goes in brackets/],
    ['[::1]5443', /not host:port/],
    ['[node-a]:5443', /not an IPv6 address/],
    ['https://node-a:5443', /not a host name/],
    ['node a:5443', /not a host name/],
  ];
  for (const [address, message] of bad) {
    const result = parseNodeAddress(address);
    assert.equal(typeof result, 'string', address);
    assert.match(result as string, message, address);
  }
});

test('whatever the text, the parser answers an address with a port in range or a reason, and never throws', () => {
  fc.assert(
    fc.property(fc.string(), (text) => {
      const result = parseNodeAddress(text);
      if (typeof result !== 'string') assert.ok(result.port >= 1 && result.port <= 65535 && result.host.length > 0);
    }),
  );
});

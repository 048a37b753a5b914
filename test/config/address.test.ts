import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddress } from '../../src/config/address.js';

const valid: ReadonlyArray<readonly [string, number, string, number]> = [
  [':443', 443, '', 443],
  [':8443', 443, '', 8443],
  [':0', 443, '', 0],
  ['127.0.0.1:8080', 443, '127.0.0.1', 8080],
  ['localhost:80', 443, 'localhost', 80],
  ['proxy.example.com:65535', 443, 'proxy.example.com', 65535],
  ['[::1]:8443', 443, '::1', 8443],
  ['[::]:0', 80, '::', 0],
  ['[2001:db8::1]', 80, '2001:db8::1', 80],
  ['127.0.0.1', 443, '127.0.0.1', 443],
  ['localhost', 80, 'localhost', 80],
  ['::1', 443, '::1', 443],
];

test('parseAddress reads host:port, :port, [v6]:port and a bare host (default port)', () => {
  for (const [text, defaultPort, host, port] of valid) {
    assert.deepEqual(parseAddress(text, defaultPort), { ok: true, value: { host, port } }, text);
  }
});

const invalid: readonly string[] = [
  ':65536',
  ':-1',
  ':http',
  'host:',
  '[::1',
  '[::1]8080',
  '[nothost]:80',
  'a:b:c',
  'bad host:80',
  'under_score-.:80',
  '::1:8080:x',
];

test('parseAddress refuses bad ports, unbracketed IPv6 with a port and invalid hosts', () => {
  for (const text of invalid) assert.equal(parseAddress(text, 443).ok, false, text);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEnum } from '../../src/config/enum.js';
import { parseLoadBalancingPolicy } from '../../src/config/route.js';

const LB: ReadonlyArray<readonly [string, ReturnType<typeof parseLoadBalancingPolicy>]> = [
  ['LOAD_BALANCING_POLICY_ROUND_ROBIN', 'round_robin'],
  ['load_balancing_policy_round_robin', 'round_robin'],
  ['ROUND_ROBIN', 'round_robin'],
  ['round_robin', 'round_robin'],
  ['Round_Robin', 'round_robin'],
  ['robin', 'round_robin'],
  ['LEAST_REQUEST', 'least_request'],
  ['least_request', 'least_request'],
  ['request', 'least_request'],
  ['RANDOM', 'random'],
  ['random', 'random'],
  ['', 'round_robin'],
  ['unspecified', 'round_robin'],
  ['RING_HASH', 'unsupported'],
  ['ring_hash', 'unsupported'],
  ['hash', 'unsupported'],
  ['MAGLEV', 'unsupported'],
  ['LOAD_BALANCING_POLICY_MAGLEV', 'unsupported'],
  ['roundrobin', null],
  ['round-robin', null],
  ['least', null],
  ['weighted', null],
];

test('load_balancing_policy decodes like a Pomerium enum: full name, short name or _suffix, any case', () => {
  for (const [text, expected] of LB) assert.equal(parseLoadBalancingPolicy(text), expected, JSON.stringify(text));
});

test('decodeEnum tries the full name, then the name without the common prefix, then a suffix, in that order', () => {
  const names = ['ISSUER_FORMAT_HOST_ONLY', 'ISSUER_FORMAT_URI', 'ISSUER_FORMAT_X_URI'];
  assert.equal(decodeEnum('issuer_format_uri', names), 'ISSUER_FORMAT_URI');
  assert.equal(decodeEnum('x_uri', names), 'ISSUER_FORMAT_X_URI');
  // `uri` is the trimmed name of ISSUER_FORMAT_URI, which wins over the suffix match of X_URI.
  assert.equal(decodeEnum('URI', names), 'ISSUER_FORMAT_URI');
  assert.equal(decodeEnum('only', names), 'ISSUER_FORMAT_HOST_ONLY');
  assert.equal(decodeEnum('', names), 'ISSUER_FORMAT_HOST_ONLY');
  assert.equal(decodeEnum('nope', names), null);
  assert.equal(decodeEnum('', []), null);
});

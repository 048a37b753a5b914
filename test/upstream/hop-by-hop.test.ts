import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectionListedNames, isHopByHop, isHopByHopRequest } from '../../src/upstream/hop-by-hop.js';

describe('hop-by-hop sets', () => {
  const always = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
  for (const name of always) {
    it(`${name} is hop-by-hop both ways`, () => {
      assert.equal(isHopByHop(name), true);
      assert.equal(isHopByHopRequest(name), true);
    });
  }

  it('expect is hop-by-hop on requests only (uWS answered 100-continue; undici refuses it)', () => {
    assert.equal(isHopByHopRequest('expect'), true);
    assert.equal(isHopByHop('expect'), false);
  });

  for (const name of ['content-length', 'host', 'cookie', 'trailers', 'tes', 'x-connection', 'proxy-authorization']) {
    it(`${name} is end-to-end`, () => {
      assert.equal(isHopByHop(name), false);
      assert.equal(isHopByHopRequest(name), false);
    });
  }
});

describe('connectionListedNames', () => {
  const cases: [value: string, expected: string[]][] = [
    ['keep-alive', []],
    ['close', []],
    ['Keep-Alive, Upgrade', []],
    ['X-Foo', ['x-foo']],
    ['close, X-Foo ,x-bar,\tX-Baz\t', ['x-foo', 'x-bar', 'x-baz']],
    [',, x-foo,,', ['x-foo']],
    ['x-foo, X-FOO', ['x-foo']],
    ['', []],
    ['  ', []],
    ['expect', ['expect']],
  ];
  for (const [value, expected] of cases) {
    it(`${JSON.stringify(value)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual([...connectionListedNames(value)], expected);
    });
  }

  it('costs no allocation for the common values', () => {
    assert.equal(connectionListedNames('keep-alive'), connectionListedNames('close'));
  });
});

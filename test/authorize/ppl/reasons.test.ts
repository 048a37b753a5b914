import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { reasonMask, REASONS, reasonsOf, unionMasks } from '../../../src/authorize/ppl/reasons.js';

test('Pomerium’s reason names are all there', () => {
  for (const r of [
    'accept', 'claim-ok', 'claim-unauthorized', 'client-certificate-ok', 'client-certificate-unauthorized', 'client-certificate-required',
    'cors-request', 'domain-ok', 'domain-unauthorized', 'email-ok', 'email-unauthorized', 'groups-ok', 'groups-unauthorized',
    'http-method-ok', 'http-method-unauthorized', 'http-path-ok', 'http-path-unauthorized', 'invalid-client-certificate',
    'non-cors-request', 'reject', 'route-not-found', 'source-ip-ok', 'source-ip-unauthorized', 'user-ok', 'user-unauthenticated',
    'user-unauthorized', 'valid-client-certificate',
  ]) {
    assert.ok((REASONS as readonly string[]).includes(r), r);
  }
});

test('property: a union of masks is the union of their reasons, sorted, beyond 32 reasons too', () => {
  const someReasons = fc.subarray([...REASONS]);
  fc.assert(
    fc.property(someReasons, someReasons, (a, b) => {
      const mask = (rs: readonly (typeof REASONS)[number][]) => rs.reduce((m, r) => unionMasks(m, reasonMask(r)), 0);
      const want = [...new Set([...a, ...b])].sort();
      assert.deepEqual([...reasonsOf(unionMasks(mask(a), mask(b)))], want);
    }),
  );
});

test('reason lists are shared and frozen', () => {
  const m = unionMasks(reasonMask('email-ok'), reasonMask('accept'));
  assert.equal(reasonsOf(m), reasonsOf(m));
  assert.ok(Object.isFrozen(reasonsOf(m)));
  assert.deepEqual(reasonsOf(0), []);
});

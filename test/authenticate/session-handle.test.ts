import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { SessionHandles } from '../../src/authenticate/session-handle.js';
import { randomId } from '../../src/crypto/random.js';

const key = Buffer.alloc(32, 0x11);
const SID = 'Qk9fS2V5LWV4YW1wbGUtMQ';

describe('SessionHandles', () => {
  it('issues v1.<id>.<first 16 bytes of HMAC-SHA256 over "v1.<id>">', () => {
    const mac = createHmac('sha256', key).update(`v1.${SID}`).digest().subarray(0, 16).toString('base64url');
    assert.equal(new SessionHandles(key).issue(SID), `v1.${SID}.${mac}`);
  });

  it('stays under 100 bytes, whatever the id', () => {
    const handles = new SessionHandles(key);
    assert.ok(handles.issue(randomId()).length < 50);
    assert.ok(handles.issue('A'.repeat(64)).length < 100);
  });

  it('verifies what it issued, for any valid id', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'AZaz09-_'), minLength: 1, maxLength: 64 }), (sid) => {
        const handles = new SessionHandles(key);
        assert.equal(handles.verify(handles.issue(sid)), sid);
      }),
    );
  });

  it('refuses to issue a handle for an id that could not round-trip', () => {
    const handles = new SessionHandles(key);
    for (const bad of ['', 'a.b', 'a b', 'é', 'A'.repeat(65), 'a/b', 'a=']) assert.throws(() => handles.issue(bad), TypeError, bad);
  });

  describe('refuses', () => {
    const handles = new SessionHandles(key);
    const good = handles.issue(SID);
    const mac = good.slice(-22);
    const cases: [label: string, value: string][] = [
      ['the empty string', ''],
      ['another key', new SessionHandles(Buffer.alloc(32, 0x12)).issue(SID)],
      ['another id with this mac', `v1.${SID.slice(0, -1)}B.${mac}`],
      ['another version', `v2${good.slice(2)}`],
      ['no version', good.slice(3)],
      ['an upper-case version', `V1${good.slice(2)}`],
      ['a truncated mac', good.slice(0, -1)],
      ['an extended mac', good + 'A'],
      ['no mac', `v1.${SID}`],
      ['no mac but the dot', `v1.${SID}.`],
      ['an empty id', `v1..${mac}`],
      ['a dot in the id', `v1.${SID.slice(0, 5)}.${SID.slice(6)}.${mac}`],
      ['an extra segment', `${good}.x`],
      ['a padded mac', `${good}==`],
      ['leading whitespace', ` ${good}`],
      ['trailing whitespace', `${good} `],
      ['quotes', `"${good}"`],
      ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJhYmMifQ.c2lnbmF0dXJl'],
      ['a huge value', `v1.${'A'.repeat(10_000)}.${mac}`],
    ];
    for (const [label, value] of cases) {
      it(label, () => assert.equal(handles.verify(value), null));
    }

    it('every single-character change', () => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
      for (let i = 0; i < good.length; i++) {
        for (const ch of alphabet) {
          if (ch === good[i]) continue;
          const changed = good.slice(0, i) + ch + good.slice(i + 1);
          assert.equal(handles.verify(changed), null, changed);
        }
      }
    });

    it('a non-canonical spelling of the right mac (same bytes, other spare bits)', () => {
      const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const v = last.indexOf(good[good.length - 1]);
      const variant = good.slice(0, -1) + last[v ^ 1];
      assert.deepEqual(Buffer.from(variant.slice(-22), 'base64url'), Buffer.from(mac, 'base64url'));
      assert.equal(handles.verify(variant), null);
    });

    it('any string it did not issue, without throwing', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (s) => {
          assert.equal(handles.verify(s), null);
        }),
        { numRuns: 3000 },
      );
    });
  });

  it('answers repeats from its cache and forgets on request', () => {
    const handles = new SessionHandles(key, 4);
    const value = handles.issue(SID);
    assert.equal(handles.verify(value), SID);
    assert.equal(handles.verify(value), SID);
    handles.forget(value);
    // Still a valid MAC: forgetting frees memory, the session record decides liveness.
    assert.equal(handles.verify(value), SID);
  });

  it('does not cache refusals (a flood of garbage cannot evict real sessions)', () => {
    const handles = new SessionHandles(key, 4);
    const value = handles.issue(SID);
    handles.verify(value);
    for (let i = 0; i < 1000; i++) handles.verify(`v1.${i}.AAAAAAAAAAAAAAAAAAAAAA`);
    assert.equal(handles.verify(value), SID);
  });

  it('stays correct when its cache rotates', () => {
    const handles = new SessionHandles(key, 8);
    const ids = Array.from({ length: 50 }, () => randomId());
    const values = ids.map((id) => handles.issue(id));
    for (let round = 0; round < 3; round++) {
      values.forEach((v, i) => assert.equal(handles.verify(v), ids[i]));
    }
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import {
  hashServiceAccountSecret,
  newServiceAccountToken,
  parseServiceAccountToken,
  verifyServiceAccountSecret,
} from '../../src/authenticate/service-account-token.js';

const pepper = Buffer.alloc(32, 0x33);
const ID = '0123456789abcdef01234567';
const SECRET = 'f'.repeat(64);
const TOKEN = `pst_sa_${ID}_${SECRET}`;

describe('newServiceAccountToken', () => {
  it('makes pst_sa_<24 hex>_<64 hex> from 12 and 32 random bytes', () => {
    const { id, secret, token } = newServiceAccountToken();
    assert.match(id, /^[0-9a-f]{24}$/);
    assert.match(secret, /^[0-9a-f]{64}$/);
    assert.equal(token, `pst_sa_${id}_${secret}`);
  });

  it('parses back to its parts and never repeats', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const { id, secret, token } = newServiceAccountToken();
      assert.deepEqual(parseServiceAccountToken(token), { id, secret });
      seen.add(id);
    }
    assert.equal(seen.size, 2000);
  });
});

describe('parseServiceAccountToken', () => {
  it('splits a well-formed token', () => {
    assert.deepEqual(parseServiceAccountToken(TOKEN), { id: ID, secret: SECRET });
  });

  const refused: [label: string, token: string][] = [
    ['the empty string', ''],
    ['another prefix', TOKEN.replace('pst_sa_', 'pst_xx_')],
    ['an upper-case prefix', TOKEN.replace('pst_sa_', 'PST_SA_')],
    ['no prefix', TOKEN.slice(7)],
    ['a short id', `pst_sa_${ID.slice(1)}_${SECRET}f`],
    ['a long id', `pst_sa_${ID}0_${SECRET.slice(1)}`],
    ['a short secret', TOKEN.slice(0, -1)],
    ['a long secret', `${TOKEN}f`],
    ['another separator', `pst_sa_${ID}-${SECRET}`],
    ['upper-case hex', `pst_sa_${ID.toUpperCase()}_${SECRET}`],
    ['base64url characters', `pst_sa_${ID.slice(0, -1)}z_${SECRET}`],
    ['an underscore inside the secret', `pst_sa_${ID}_${SECRET.slice(0, 10)}_${SECRET.slice(11)}`],
    ['whitespace', ` ${TOKEN.slice(1)}`],
    ['a Pomerium JWT', 'eyJhbGciOiJIUzI1NiJ9.e30.x'],
  ];
  for (const [label, token] of refused) {
    it(`refuses ${label}`, () => assert.equal(parseServiceAccountToken(token), null));
  }

  it('never throws, and what it accepts rebuilds the same token', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('p', 's', 't', '_', 'a', 'f', '0', 'F', 'g'), maxLength: 100 }), (s) => {
        const parsed = parseServiceAccountToken(s);
        if (parsed !== null) assert.equal(`pst_sa_${parsed.id}_${parsed.secret}`, s);
      }),
    );
  });
});

describe('hashServiceAccountSecret and verifyServiceAccountSecret', () => {
  it('hash is hex HMAC-SHA256(pepper, id ":" secret)', () => {
    assert.equal(hashServiceAccountSecret(pepper, ID, SECRET), createHmac('sha256', pepper).update(`${ID}:${SECRET}`).digest('hex'));
  });

  it('verifies the right secret and nothing else', () => {
    const hash = hashServiceAccountSecret(pepper, ID, SECRET);
    assert.equal(verifyServiceAccountSecret(pepper, ID, SECRET, hash), true);
    assert.equal(verifyServiceAccountSecret(pepper, ID, 'e'.repeat(64), hash), false);
    assert.equal(verifyServiceAccountSecret(pepper, 'f'.repeat(24), SECRET, hash), false);
    assert.equal(verifyServiceAccountSecret(Buffer.alloc(32, 0x34), ID, SECRET, hash), false);
    assert.equal(verifyServiceAccountSecret(pepper, ID, SECRET, hash.toUpperCase()), false);
    assert.equal(verifyServiceAccountSecret(pepper, ID, SECRET, hash.slice(1)), false);
    assert.equal(verifyServiceAccountSecret(pepper, ID, SECRET, ''), false);
  });

  it('binds the secret to its id (no moving characters across the boundary)', () => {
    assert.notEqual(hashServiceAccountSecret(pepper, 'ab', 'c'), hashServiceAccountSecret(pepper, 'a', 'bc'));
  });

  it('verifies every fresh token against its own hash only', () => {
    fc.assert(
      fc.property(fc.constant(null), () => {
        const a = newServiceAccountToken();
        const b = newServiceAccountToken();
        const hashA = hashServiceAccountSecret(pepper, a.id, a.secret);
        assert.equal(verifyServiceAccountSecret(pepper, a.id, a.secret, hashA), true);
        assert.equal(verifyServiceAccountSecret(pepper, b.id, b.secret, hashA), false);
        assert.equal(verifyServiceAccountSecret(pepper, a.id, b.secret, hashA), false);
      }),
      { numRuns: 200 },
    );
  });
});

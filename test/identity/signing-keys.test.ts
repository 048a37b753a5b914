import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, hkdfSync, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { calculateJwkThumbprint } from 'jose';
import { deriveSigningKey, jwkThumbprint, parseSigningKeys, signingKeysOf, type SigningKey } from '../../src/identity/signing-keys.js';

function ecPem(type: 'sec1' | 'pkcs8' = 'sec1'): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type }) as string;
}

const RSA_2048 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

function parsed(text: string): SigningKey[] {
  const result = parseSigningKeys(text);
  if (!result.ok) return assert.fail(result.error);
  return result.keys;
}

function refusal(text: string): string {
  const result = parseSigningKeys(text);
  if (result.ok) return assert.fail('expected the key to be refused');
  return result.error;
}

describe('parseSigningKeys', () => {
  it('reads an EC P-256 key (SEC1 or PKCS#8) as ES256 with use sig and the public point only', () => {
    for (const pem of [ecPem('sec1'), ecPem('pkcs8')]) {
      const [key] = parsed(pem);
      assert.equal(key!.alg, 'ES256');
      assert.deepEqual(Object.keys(key!.jwk), ['use', 'kty', 'kid', 'crv', 'alg', 'x', 'y']);
      assert.equal(key!.jwk.use, 'sig');
      assert.equal(key!.jwk.crv, 'P-256');
      assert.equal('d' in key!.jwk, false);
    }
  });

  it('reads an RSA key (PKCS#1 or PKCS#8) as RS256 without its private members', () => {
    for (const type of ['pkcs1', 'pkcs8'] as const) {
      const [key] = parsed(RSA_2048.export({ format: 'pem', type }) as string);
      assert.equal(key!.alg, 'RS256');
      assert.deepEqual(Object.keys(key!.jwk), ['use', 'kty', 'kid', 'alg', 'n', 'e']);
    }
  });

  it('accepts the PEM base64-encoded as a whole, and surrounding whitespace, as Pomerium does', () => {
    const pem = ecPem();
    const [plain] = parsed(pem);
    const [encoded] = parsed(`  ${Buffer.from(pem).toString('base64')}\n`);
    assert.equal(encoded!.kid, plain!.kid);
    assert.equal(parsed(`\n\n${pem}\n\n`)[0]!.kid, plain!.kid);
  });

  it('keeps every PEM block in order: the first signs, all are published', () => {
    const pems = [ecPem(), RSA_2048.export({ format: 'pem', type: 'pkcs8' }) as string, ecPem()];
    const keys = parsed(pems.join('\n'));
    assert.deepEqual(
      keys.map((k) => k.alg),
      ['ES256', 'RS256', 'ES256'],
    );
    assert.deepEqual(
      keys.map((k) => k.kid),
      pems.map((p) => parsed(p)[0]!.kid),
    );
  });

  it('skips the EC PARAMETERS block that `openssl ecparam -genkey` writes before the key', () => {
    const params = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n';
    const pem = ecPem();
    assert.equal(parsed(params + pem)[0]!.kid, parsed(pem)[0]!.kid);
  });

  it('refuses keys that cannot sign an ES256 or RS256 assertion, naming the block', () => {
    const cases: [string, RegExp][] = [
      ['', /no PEM private key found/],
      ['not a key', /no PEM private key found/],
      [generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, /P-256 curve \(ES256\), not secp384r1/],
      [generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, /at least 2048 bits, not 1024/],
      [generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, /unsupported key type ed25519/],
      [createPublicKey(RSA_2048).export({ format: 'pem', type: 'spki' }) as string, /PEM block 1 is a PUBLIC KEY, not a private key/],
      ['-----BEGIN EC PRIVATE KEY-----\nfoobar==\n-----END EC PRIVATE KEY-----', /PEM block 1 \(EC PRIVATE KEY\) is not a valid private key/],
      [
        RSA_2048.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'x' }) as string,
        /ENCRYPTED PRIVATE KEY, not a private key: encrypted keys are not supported/,
      ],
      [`${ecPem()}\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`, /PEM block 2 is a CERTIFICATE/],
    ];
    for (const [text, message] of cases) assert.match(refusal(text), message);
  });
});

describe('kid', () => {
  it('is the hex SHA-256 RFC 7638 thumbprint, the one jose computes (in base64url)', async () => {
    for (const key of [...parsed(ecPem()), ...parsed(RSA_2048.export({ format: 'pem', type: 'pkcs8' }) as string)]) {
      const jose = await calculateJwkThumbprint(createPublicKey(key.privateKey).export({ format: 'jwk' }) as never, 'sha256');
      assert.equal(key.kid, Buffer.from(jose, 'base64url').toString('hex'));
      assert.equal(jwkThumbprint(key.jwk), key.kid);
    }
  });
});

describe('deriveSigningKey', () => {
  const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

  it('is deterministic: the same shared secret gives the same key, another secret another key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (a, b) => {
        const one = deriveSigningKey(Buffer.from(a));
        const again = deriveSigningKey(Buffer.from(a));
        assert.deepEqual(again.jwk, one.jwk);
        assert.equal(again.pem, one.pem);
        if (Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0) assert.notEqual(deriveSigningKey(Buffer.from(b)).kid, one.kid);
      }),
      { numRuns: 25 },
    );
  });

  it("follows Pomerium's derivation: d = HKDF-SHA256(secret, info derived-jwt-signing-key)[0:40] mod (n − 1) + 1", () => {
    const secret = Buffer.alloc(32, 7);
    const stream = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'derived-jwt-signing-key', 40));
    const expected = (BigInt('0x' + stream.toString('hex')) % (P256_N - 1n)) + 1n;
    const key = deriveSigningKey(secret);
    const d = key.privateKey.export({ format: 'jwk' }).d as string;
    assert.equal(BigInt('0x' + Buffer.from(d, 'base64url').toString('hex')), expected);
    // Written as Pomerium writes it: PEM "EC PRIVATE KEY".
    assert.match(key.pem, /^-----BEGIN EC PRIVATE KEY-----\n/);
    assert.equal(parsed(key.pem)[0]!.kid, key.kid);
  });

  it('matches a vector computed independently (Python cryptography, keygen.ECDSALegacy steps) for secret 32 × 0x07', () => {
    const key = deriveSigningKey(Buffer.alloc(32, 7));
    assert.equal(key.jwk.x, 'e1L46P5gabXxpJ147BeWsNZeJWIAZ02GXx74oMUaEQ0');
    assert.equal(key.jwk.y, 'yuUWdUtunGw1dtIxjzXiw1-1l5gi_60DebJq5cQ_BiM');
  });

  it('makes a working ES256 key whose published point matches its private half', () => {
    const key = deriveSigningKey(Buffer.alloc(32, 9));
    assert.equal(key.alg, 'ES256');
    const data = Buffer.from('payload');
    const signature = sign('sha256', data, key.privateKey);
    const published = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: key.jwk.x, y: key.jwk.y }, format: 'jwk' });
    assert.equal(verify('sha256', data, published, signature), true);
  });
});

describe('signingKeysOf', () => {
  it('derives from shared_secret when no key is configured, and uses the configured keys otherwise', () => {
    const sharedSecret = Buffer.alloc(32, 3);
    assert.deepEqual(
      signingKeysOf({ signingKeys: [], sharedSecret }).map((k) => k.kid),
      [deriveSigningKey(sharedSecret).kid],
    );
    const pems = [ecPem(), ecPem()];
    assert.deepEqual(
      signingKeysOf({ signingKeys: pems, sharedSecret }).map((k) => k.kid),
      pems.map((p) => parsed(p)[0]!.kid),
    );
  });
});

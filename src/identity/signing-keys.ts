// The keys that sign X-Pomerium-Jwt-Assertion, and the public JWKs an
// upstream verifies it with. From `signing_key` / `signing_key_file` (one
// or more PEM private keys, optionally base64-encoded as a whole: the first
// signs, all are published) or, when neither is set, derived from
// shared_secret exactly as Pomerium derives it (pom:config/options.go
// deriveSigningKey), so every instance sharing the secret — Pomerium's
// included — signs with the same key and publishes the same JWKS.
import { createECDH, createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { deriveKey } from '../crypto/hkdf.js';
import { decodeBase64Std } from '../config/secrets.js';

export type SigningAlgorithm = 'ES256' | 'RS256';

/** A public JWK as jwks.json lists it, members in go-jose's order (use, kty, kid, crv, alg, x, y / n, e). */
export type PublishedJwk = Readonly<Record<string, string>>;

export interface SigningKey {
  readonly alg: SigningAlgorithm;
  /** Hex SHA-256 JWK thumbprint (RFC 7638), as Pomerium's cryptutil computes it. */
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly jwk: PublishedJwk;
  /** The key as one PEM block. */
  readonly pem: string;
}

export type ParsedSigningKeys = { readonly ok: true; readonly keys: SigningKey[] } | { readonly ok: false; readonly error: string };

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;
const PRIVATE_KEY_BLOCKS: ReadonlySet<string> = new Set(['EC PRIVATE KEY', 'RSA PRIVATE KEY', 'PRIVATE KEY']);
/** Labels of other well-known blocks, named in messages; any other label is not repeated (messages never quote the value). */
const OTHER_BLOCKS: ReadonlySet<string> = new Set(['CERTIFICATE', 'PUBLIC KEY', 'RSA PUBLIC KEY', 'ENCRYPTED PRIVATE KEY', 'CERTIFICATE REQUEST', 'X509 CRL']);
const MIN_RSA_BITS = 2048;

/**
 * Reads a `signing_key` value or `signing_key_file` content. As in Pomerium,
 * surrounding whitespace is trimmed and the text is base64-decoded when it
 * is valid base64, else taken as PEM. Every PEM block must be a private key
 * (`EC PARAMETERS` blocks, which `openssl ecparam -genkey` writes before the
 * key, are skipped).
 */
export function parseSigningKeys(text: string): ParsedSigningKeys {
  const trimmed = text.trim();
  const decoded = decodeBase64Std(trimmed);
  const pemText = decoded === null ? trimmed : decoded.toString('latin1');
  const keys: SigningKey[] = [];
  let blocks = 0;
  for (const match of pemText.matchAll(PEM_BLOCK)) {
    const type = match[1] as string;
    if (type === 'EC PARAMETERS') continue;
    blocks += 1;
    if (!PRIVATE_KEY_BLOCKS.has(type)) {
      const hint = type === 'ENCRYPTED PRIVATE KEY' ? ': encrypted keys are not supported' : '';
      const what = OTHER_BLOCKS.has(type) ? `a ${type}` : 'an unexpected kind of PEM block';
      return { ok: false, error: `PEM block ${blocks} is ${what}, not a private key${hint}` };
    }
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: match[0], format: 'pem' });
    } catch {
      return { ok: false, error: `PEM block ${blocks} (${type}) is not a valid private key` };
    }
    const key = signingKeyOf(privateKey, match[0] + '\n');
    if (typeof key === 'string') return { ok: false, error: `PEM block ${blocks}: ${key}` };
    keys.push(key);
  }
  if (keys.length === 0) return { ok: false, error: 'no PEM private key found (expected -----BEGIN EC PRIVATE KEY----- or similar, or its base64)' };
  return { ok: true, keys };
}

/** The P-256 group order. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/**
 * Pomerium's derivation: HKDF-SHA256(ikm = shared_secret, no salt, info
 * "derived-jwt-signing-key") read as a stream into filippo.io/keygen's
 * ECDSALegacy(P-256), which is Go 1.19's ecdsa.GenerateKey: 40 bytes
 * (bitlen/8 + 8) as a big-endian integer b, and d = b mod (n − 1) + 1.
 * The 8 extra bytes make the bias of the reduction negligible.
 */
export function deriveSigningKey(sharedSecret: Buffer): SigningKey {
  const b = BigInt('0x' + deriveKey(sharedSecret, 'derived-jwt-signing-key', 40).toString('hex'));
  const d = Buffer.from(((b % (P256_N - 1n)) + 1n).toString(16).padStart(64, '0'), 'hex');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey(); // 0x04 ‖ x ‖ y
  const privateKey = createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: d.toString('base64url'),
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  });
  const pem = privateKey.export({ format: 'pem', type: 'sec1' }) as string;
  return signingKeyOf(privateKey, pem) as SigningKey;
}

/** The configured keys, or the key derived from shared_secret when none is configured. */
export function signingKeysOf(config: { readonly signingKeys: readonly string[]; readonly sharedSecret: Buffer }): SigningKey[] {
  if (config.signingKeys.length === 0) return [deriveSigningKey(config.sharedSecret)];
  return config.signingKeys.map((pem) => {
    const parsed = parseSigningKeys(pem);
    // The loader checked every key; a failure here means the Config was not built by it.
    if (!parsed.ok) throw new TypeError(`signing key: ${parsed.error}`);
    return parsed.keys[0] as SigningKey;
  });
}

/** Hex SHA-256 of the RFC 7638 canonical JWK: required members only, in lexicographic order. */
export function jwkThumbprint(jwk: PublishedJwk): string {
  const canonical =
    jwk.kty === 'EC'
      ? JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
      : JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  return createHash('sha256').update(canonical).digest('hex');
}

/** The signing key, or why this key cannot sign an assertion. */
function signingKeyOf(privateKey: KeyObject, pem: string): SigningKey | string {
  const type = privateKey.asymmetricKeyType;
  const details = privateKey.asymmetricKeyDetails ?? {};
  const pub = createPublicKey(privateKey).export({ format: 'jwk' });
  if (type === 'ec') {
    if (details.namedCurve !== 'prime256v1') return `an EC key must be on the P-256 curve (ES256), not ${details.namedCurve ?? 'an unnamed curve'}`;
    const kid = jwkThumbprint({ kty: 'EC', crv: 'P-256', x: pub.x as string, y: pub.y as string });
    const jwk = { use: 'sig', kty: 'EC', kid, crv: 'P-256', alg: 'ES256', x: pub.x as string, y: pub.y as string };
    return { alg: 'ES256', kid, privateKey, jwk: Object.freeze(jwk), pem };
  }
  if (type === 'rsa') {
    const bits = details.modulusLength ?? 0;
    // jose and most verifiers refuse RS256 keys below 2048 bits.
    if (bits < MIN_RSA_BITS) return `an RSA key must have at least ${MIN_RSA_BITS} bits, not ${bits}`;
    const kid = jwkThumbprint({ kty: 'RSA', n: pub.n as string, e: pub.e as string });
    const jwk = { use: 'sig', kty: 'RSA', kid, alg: 'RS256', n: pub.n as string, e: pub.e as string };
    return { alg: 'RS256', kid, privateKey, jwk: Object.freeze(jwk), pem };
  }
  return `unsupported key type ${type ?? 'unknown'}: use an EC P-256 key (ES256) or an RSA key (RS256)`;
}

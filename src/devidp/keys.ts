// The dev IdP's token signing key: RS256, the algorithm every OpenID client
// supports and oidc-provider's default for ID tokens. Fresh at every start,
// or kept in `keys_file` (a private JWKS, mode 0600) so that tokens issued
// before a restart still verify.
import { readFileSync, writeFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { Errors, PosternError } from '../errors.js';

export const SIGNING_ALGORITHM = 'RS256';

/** A new private signing key as a JWK, with its thumbprint as `kid`. */
export async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: SIGNING_ALGORITHM, use: 'sig' };
}

function isPrivateRsaKey(key: unknown): key is JWK {
  if (key === null || typeof key !== 'object') return false;
  const k = key as Record<string, unknown>;
  return k.kty === 'RSA' && typeof k.n === 'string' && typeof k.e === 'string' && typeof k.d === 'string' && typeof k.kid === 'string';
}

function readKeys(file: string, text: string): JWK[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const keys = (parsed as { keys?: unknown } | undefined)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every(isPrivateRsaKey)) {
    // The content is never quoted: it holds private keys.
    throw new PosternError(Errors.CONFIG_UNREADABLE, `${file}: not a JWKS of private RSA signing keys with kid (delete it to have a new one made)`);
  }
  return keys;
}

/** The private signing keys: from `file` when it exists, else new ones (written to `file` when given). */
export async function loadOrCreateSigningKeys(file: string | null): Promise<JWK[]> {
  if (file !== null) {
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new PosternError(Errors.CONFIG_UNREADABLE, `${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
      }
    }
    if (text !== undefined) return readKeys(file, text);
  }
  const keys = [await generateSigningKey()];
  // `wx`: never overwrite a key file that appeared meanwhile.
  if (file !== null) writeFileSync(file, `${JSON.stringify({ keys }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return keys;
}

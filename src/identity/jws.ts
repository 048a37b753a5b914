// Compact JWS signing with synchronous node:crypto (engineering.md A4: jose
// goes through WebCrypto, a promise and a thread-pool job per call; a sync
// ES256 sign costs a few tens of µs on the main thread and no hand-off).
import { sign, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import type { SigningAlgorithm, SigningKey } from './signing-keys.js';

export class CompactSigner {
  readonly alg: SigningAlgorithm;
  readonly kid: string;
  /** base64url of {"alg":…,"kid":…,"typ":"JWT"}, the header Pomerium writes (keys sorted, as go-jose marshals it). */
  readonly #encodedHeader: string;
  readonly #key: KeyObject | SignKeyObjectInput;

  constructor(key: SigningKey) {
    this.alg = key.alg;
    this.kid = key.kid;
    this.#encodedHeader = Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'JWT' })).toString('base64url');
    // JWS ES256 signatures are r ‖ s (RFC 7518 §3.4), not DER.
    this.#key = key.alg === 'ES256' ? { key: key.privateKey, dsaEncoding: 'ieee-p1363' } : key.privateKey;
  }

  /** header.payload.signature for a JSON payload. */
  sign(payloadJson: string): string {
    const input = this.#encodedHeader + '.' + Buffer.from(payloadJson).toString('base64url');
    return input + '.' + sign('sha256', Buffer.from(input), this.#key).toString('base64url');
  }
}

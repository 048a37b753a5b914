// Every key authentication uses, derived once from the two configured
// secrets with a label per purpose (HKDF, engineering.md A4), so that no
// token, MAC or ciphertext made for one purpose is accepted for another.
import { deriveKey } from '../crypto/hkdf.js';

const MIN_SECRET_BYTES = 32;

export class AuthKeys {
  // From shared_secret: every instance of a deployment shares it, so a value
  // made by one instance is accepted by all of them.

  /** MAC of the `_pomerium` cookie handle (`v1.<session id>.<mac>`). */
  readonly sessionHandle: Buffer;
  /** HMAC-SHA512/256 of signed URLs between route hosts and the authenticate host (sign-in, callback, sign-out). */
  readonly urlSigning: Buffer;
  /** AES-256-GCM key sealing the session handed from the authenticate host to a route host in the callback URL. */
  readonly callbackSeal: Buffer;
  /** HS256 key of the session JWT given to programmatic clients (`pomerium_jwt`, `Authorization: Pomerium …`). */
  readonly sessionJwt: Buffer;
  /** Pepper of service-account token hashes: a stolen database alone cannot check a guessed token. */
  readonly serviceAccountPepper: Buffer;

  // From cookie_secret: values that live only in the browser between two
  // steps of one login on the authenticate host.

  /** AES-256-GCM key sealing the OIDC login state (PKCE verifier, nonce, return URL) in its cookie. */
  readonly state: Buffer;
  /** HMAC key binding the CSRF cookie to the `state` parameter. */
  readonly csrf: Buffer;

  constructor(sharedSecret: Buffer, cookieSecret: Buffer) {
    if (sharedSecret.length < MIN_SECRET_BYTES || cookieSecret.length < MIN_SECRET_BYTES) {
      throw new RangeError(`shared_secret and cookie_secret need at least ${MIN_SECRET_BYTES} bytes`);
    }
    this.sessionHandle = deriveKey(sharedSecret, 'postern session handle v1');
    this.urlSigning = deriveKey(sharedSecret, 'postern signed url v1');
    this.callbackSeal = deriveKey(sharedSecret, 'postern callback seal v1');
    this.sessionJwt = deriveKey(sharedSecret, 'postern session jwt v1');
    this.serviceAccountPepper = deriveKey(sharedSecret, 'postern service account pepper v1');
    this.state = deriveKey(cookieSecret, 'postern oidc state v1');
    this.csrf = deriveKey(cookieSecret, 'postern csrf v1');
    Object.freeze(this);
  }
}

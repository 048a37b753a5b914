// Signing X-Pomerium-Jwt-Assertion on a cache miss: the claims, the
// signature and the jwt_claims_headers values, as AssertionSigner does when
// it has no token to reuse (src/identity/assertion.ts). The one step of the
// request path heavy enough (an ES256 signature, tens of µs) to be a
// candidate for the worker pool; bench/micro/offload.ts measures it inline
// against assertion-sign.ts and says which wins. Built from settings that
// survive a structured clone, so a worker builds its own from workerData.
import { randomUUID } from 'node:crypto';
import type { Identity } from '../src/authenticate/sessions.js';
import type { ClaimHeader, JwtIssuerFormat } from '../src/config/types.js';
import type { SignedAssertion } from '../src/identity/assertion.js';
import { claimHeaderValues, extraClaimsOf } from '../src/identity/claim-headers.js';
import { assertionClaims, payloadJson } from '../src/identity/claims.js';
import { CompactSigner } from '../src/identity/jws.js';
import { parseSigningKeys, type SigningKey } from '../src/identity/signing-keys.js';

/** What signing needs, as plain data: a KeyObject is rebuilt from its PEM on the thread that signs. */
export interface SigningSettings {
  /** SigningKey.pem of the key that signs. */
  readonly signingKeyPem: string;
  readonly claimHeaders: readonly ClaimHeader[];
  /** The route's jwt_issuer_format, else the global one. */
  readonly issuerFormat: JwtIssuerFormat;
}

export interface MintTask {
  /** null: nobody is signed in. */
  readonly identity: Identity | null;
  /** The request's host (ProxyRequest.host): the audience and issuer. */
  readonly host: string;
  readonly nowMs: number;
}

export function signingKeyFromPem(pem: string): SigningKey {
  const parsed = parseSigningKeys(pem);
  if (!parsed.ok) throw new TypeError(`signing key: ${parsed.error}`);
  return parsed.keys[0] as SigningKey;
}

export class AssertionMinter {
  readonly #signer: CompactSigner;
  readonly #claimHeaders: readonly ClaimHeader[];
  readonly #extraClaims: readonly string[];
  readonly #issuerFormat: JwtIssuerFormat;

  constructor(settings: SigningSettings) {
    this.#signer = new CompactSigner(signingKeyFromPem(settings.signingKeyPem));
    this.#claimHeaders = settings.claimHeaders;
    this.#extraClaims = extraClaimsOf(settings.claimHeaders);
    this.#issuerFormat = settings.issuerFormat;
  }

  /** A freshly signed assertion (new jti, iat = now). */
  mint(task: MintTask): SignedAssertion {
    const iat = Math.floor(task.nowMs / 1000);
    const claims = assertionClaims(task.identity, task.host, this.#issuerFormat, this.#extraClaims, iat, randomUUID());
    return { token: this.#signer.sign(payloadJson(claims)), claimHeaders: claimHeaderValues(this.#claimHeaders, claims) };
  }
}

// An upstream that checks who is calling the way a real application behind
// Pomerium does (reference §6.1): it fetches the route host's
// /.well-known/pomerium/jwks.json THROUGH the proxy and verifies
// X-Pomerium-Jwt-Assertion with jose (ES256 only, issuer and audience = the
// route host, the expiry). A valid assertion gets 200 with its claims, an
// absent or invalid one 401 with jose's error code; both answers carry the
// headers the upstream received. The verification is exported on its own,
// so a test can put forged tokens through exactly the same check.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { startUpstream, type Upstream } from './upstreams.js';

export type Verification =
  | { readonly ok: true; readonly payload: JWTPayload; readonly header: ProtectedHeaderParameters }
  /** `code`: jose's error code (ERR_JWS_SIGNATURE_VERIFICATION_FAILED, ERR_JWT_EXPIRED, …) or ABSENT. */
  | { readonly ok: false; readonly code: string; readonly message: string };

/** What the verifying upstream answers (200 when `verification.ok`, else 401). */
export interface VerifierReply {
  readonly verification: Verification;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export interface ProxyAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** GET `path` on the proxy at 127.0.0.1:`proxyPort` with Host `host`, as an upstream reaching its public URL would. */
export function getThroughProxy(proxyPort: number, host: string, path: string, headers: Readonly<Record<string, string>> = {}, timeoutMs = 5_000): Promise<ProxyAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: proxyPort, path, headers: { host: `${host}:${proxyPort}`, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms: GET ${host}${path}`)));
    req.on('error', reject);
    req.end();
  });
}

/** The JWKS the proxy publishes for `host`. */
export async function fetchJwks(proxyPort: number, host: string): Promise<JSONWebKeySet> {
  const answer = await getThroughProxy(proxyPort, host, '/.well-known/pomerium/jwks.json');
  if (answer.status !== 200) throw new Error(`jwks.json on ${host}: ${answer.status} ${answer.body.slice(0, 200)}`);
  return JSON.parse(answer.body) as JSONWebKeySet;
}

/** The check an upstream serving `host` makes: a signature by a published key, ES256, iss = aud = host, not expired. */
export async function verifyAssertion(token: string | undefined, jwks: JSONWebKeySet, host: string, currentDate?: Date): Promise<Verification> {
  if (token === undefined || token === '') return { ok: false, code: 'ABSENT', message: 'no X-Pomerium-Jwt-Assertion' };
  try {
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      algorithms: ['ES256'],
      issuer: host,
      audience: host,
      ...(currentDate === undefined ? {} : { currentDate }),
    });
    return { ok: true, payload, header: protectedHeader };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { ok: false, code: e.code ?? 'ERR_UNKNOWN', message: e.message ?? String(err) };
  }
}

export interface VerifyingUpstreamOptions {
  /** The route host this application is published at: its expected iss and aud, and where it fetches the JWKS. */
  readonly host: string;
  /** The proxy's port, read on every request (the proxy starts after its upstreams). */
  readonly proxyPort: () => number;
}

export function startVerifyingUpstream(opts: VerifyingUpstreamOptions): Promise<Upstream> {
  return startUpstream((req, res, rec) => {
    const header = req.headers['x-pomerium-jwt-assertion'];
    const token = Array.isArray(header) ? header.join(',') : header;
    fetchJwks(opts.proxyPort(), opts.host)
      .then((jwks) => verifyAssertion(token, jwks, opts.host))
      .catch((err: unknown): Verification => ({ ok: false, code: 'JWKS_UNAVAILABLE', message: String(err) }))
      .then((verification) => {
        const reply: VerifierReply = { verification, url: rec.url, headers: rec.headers };
        const body = JSON.stringify(reply);
        res.writeHead(verification.ok ? 200 : 401, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
  });
}

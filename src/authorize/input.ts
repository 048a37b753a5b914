// What a policy is evaluated against: the request, who is calling, the
// client certificate and the time. The same facts as Pomerium's Rego input
// (pom:authorize/evaluator), gathered once per request.
//
// Claims are flattened as Pomerium stores them (pom:pkg/identity/claims.go
// Flatten): nested maps become dotted keys (`{"a":{"b":1}}` → `a.b: [1]`),
// every value is a list. The flattened form is computed once per claims
// object (a session record's claims are one object for its lifetime).
//
// Groups come from the provider's `groups` claim. A provider that has too
// many groups to put in the token says so instead of listing them (Azure AD
// / Entra ID: `_claim_names.groups` pointing at a Graph call, or
// `hasgroups: true`). Then the user's groups are unknown, not empty:
// `groups` is null, and the group criteria answer whichever way denies
// (see criteria/groups.ts), so a missing list can neither let somebody in
// through an allow rule nor past a deny rule.
import { createHash, type X509Certificate } from 'node:crypto';
import type { Identity } from '../authenticate/sessions.js';
import type { ProxyRequest } from '../proxy/request.js';

/** Claim name → values, with nested maps flattened to dotted names. Null prototype: only real claims are keys. */
export type FlattenedClaims = Readonly<Record<string, readonly unknown[]>>;

export interface PolicyRequest {
  readonly method: string;
  /** The normalised path, percent-decoded (Pomerium matches `http_path` on the decoded path); no query. */
  readonly path: string;
  /** Header pairs, names lower-cased: [name0, value0, …]. */
  readonly headers: readonly string[];
  readonly host: string;
  /** The client's address (after `xff_num_trusted_hops`). */
  readonly ip: string;
}

export interface PolicyIdentity {
  readonly kind: 'session' | 'service_account';
  readonly sessionId: string;
  readonly userId: string;
  readonly email: string;
  /** null when the token signals group overage without listing the groups: unknown, not empty. */
  readonly groups: readonly string[] | null;
  readonly claims: FlattenedClaims;
}

export interface ClientCertificateInput {
  /** A certificate was presented in the TLS handshake. */
  readonly presented: boolean;
  /** It chains to the configured client CA. */
  readonly valid: boolean;
  /** SHA-256 of the DER certificate, lower-case hex; '' when none was presented. */
  readonly fingerprint: string;
  /** SHA-256 of the DER SubjectPublicKeyInfo, standard base64; '' when none was presented. */
  readonly spkiHash: string;
  readonly sanDns: readonly string[];
  readonly sanEmail: readonly string[];
  readonly sanUri: readonly string[];
}

export interface PolicyInput {
  readonly request: PolicyRequest;
  /** null: nobody signed in (or the credential did not check out). */
  readonly identity: PolicyIdentity | null;
  /** null: the connection carries no client certificate (or the listener does not ask for one). */
  readonly clientCertificate: ClientCertificateInput | null;
  readonly now: Date;
}

type Claims = Readonly<Record<string, unknown>>;

function isMap(v: unknown): v is Claims {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function flattenInto(out: Record<string, readonly unknown[]>, prefix: string, claims: Claims): void {
  for (const [k, v] of Object.entries(claims)) {
    const key = prefix + k;
    if (isMap(v)) flattenInto(out, `${key}.`, v);
    else out[key] = Object.freeze(Array.isArray(v) ? [...v] : [v]);
  }
}

const flattened = new WeakMap<object, FlattenedClaims>();

export function flattenClaims(claims: Claims): FlattenedClaims {
  let out = flattened.get(claims);
  if (out === undefined) {
    const built: Record<string, readonly unknown[]> = Object.create(null) as Record<string, readonly unknown[]>;
    flattenInto(built, '', claims);
    out = Object.freeze(built);
    flattened.set(claims, out);
  }
  return out;
}

/** The token says the user has groups it does not list (Azure AD / Entra ID overage). */
export function groupsOverage(claims: Claims): boolean {
  if (Object.hasOwn(claims, 'groups')) return false;
  if (claims.hasgroups === true || claims.hasgroups === 'true') return true;
  const names = claims._claim_names;
  return isMap(names) && Object.hasOwn(names, 'groups');
}

/** The fields of an identity that policies read. */
export type IdentityFacts = Pick<Identity, 'kind' | 'sessionId' | 'userId' | 'email' | 'groups' | 'claims'>;

export function policyIdentity(identity: IdentityFacts): PolicyIdentity {
  return {
    kind: identity.kind,
    sessionId: identity.sessionId,
    userId: identity.userId,
    email: identity.email,
    groups: groupsOverage(identity.claims) ? null : identity.groups,
    claims: flattenClaims(identity.claims),
  };
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * The path with every `%XX` decoded (bytes read as UTF-8). The normalised
 * path has no escaped slash (those requests are refused), so decoding
 * cannot change its segments.
 */
export function decodePath(path: string): string {
  if (path.indexOf('%') < 0) return path;
  const bytes = Buffer.from(path, 'utf8');
  let w = 0;
  for (let r = 0; r < bytes.length; r++) {
    const b = bytes[r]!;
    if (b === 0x25 && r + 2 < bytes.length && hexValue(bytes[r + 1]!) >= 0 && hexValue(bytes[r + 2]!) >= 0) {
      bytes[w++] = (hexValue(bytes[r + 1]!) << 4) | hexValue(bytes[r + 2]!);
      r += 2;
    } else {
      bytes[w++] = b;
    }
  }
  return bytes.toString('utf8', 0, w);
}

/** Builds the input for one request. `ip` is the client address the proxy settled on. */
export function policyInput(
  req: ProxyRequest,
  identity: IdentityFacts | null,
  ip: string,
  now: Date,
  clientCertificate: ClientCertificateInput | null = null,
): PolicyInput {
  return {
    request: { method: req.method, path: decodePath(req.path), headers: req.headers, host: req.host, ip },
    identity: identity === null ? null : policyIdentity(identity),
    clientCertificate,
    now,
  };
}

/** A JSON-quoted SAN value; kept as written if it does not parse (the certificate is the client's). */
function unquote(quoted: string): string {
  try {
    const v: unknown = JSON.parse(quoted);
    return typeof v === 'string' ? v : quoted;
  } catch {
    return quoted;
  }
}

/**
 * Node's `subjectAltName` text (`DNS:a.example, email:x@y, URI:https://…`),
 * split into entries. Node quotes a value holding a comma or quote as a JSON
 * string, so such a value cannot be mistaken for a separator.
 */
function subjectAltNames(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon);
    let value: string;
    let end: number;
    if (text.charCodeAt(colon + 1) === 0x22) {
      let j = colon + 2;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      end = j + 1;
      value = unquote(text.slice(colon + 1, end));
    } else {
      const comma = text.indexOf(', ', colon + 1);
      end = comma < 0 ? text.length : comma;
      value = text.slice(colon + 1, end);
    }
    out.push([type, value]);
    i = end + 2;
  }
  return out;
}

/** The facts the certificate criteria read, computed once per TLS connection. */
export function describeClientCertificate(cert: X509Certificate, valid: boolean): ClientCertificateInput {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  const sans = subjectAltNames(cert.subjectAltName ?? '');
  const of = (type: string): string[] => sans.filter(([t]) => t === type).map(([, v]) => v);
  return {
    presented: true,
    valid,
    fingerprint: createHash('sha256').update(cert.raw).digest('hex'),
    spkiHash: createHash('sha256').update(spki).digest('base64'),
    sanDns: of('DNS'),
    sanEmail: of('email'),
    sanUri: of('URI'),
  };
}

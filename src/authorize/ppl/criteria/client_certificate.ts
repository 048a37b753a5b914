// `client_certificate`: the presented certificate matches. The data is a
// map of conditions, all of which must hold:
//   fingerprint  SHA-256 of the certificate: 64 lower-case hex digits, or 32
//                upper-case hex bytes separated by colons (openssl's form);
//                a string or a list (any may match)
//   spki_hash    base64 SHA-256 of the SubjectPublicKeyInfo; string or list
//   san_email, san_dns, san_uri
//                string matchers over the certificate's SANs of that kind
//                (each operator satisfied by some SAN; `not_in` by none)
// Without a certificate it is false. Validation against the CA is not its
// business: that is `invalid_client_certificate`.
import type { ClientCertificateInput } from '../../input.js';
import { compiled, refused, requestTest, type CriterionSpec } from '../criterion.js';
import { compileStringMatcher } from '../matchers.js';
import { typeName } from '../parse.js';

type Condition = (cert: ClientCertificateInput) => boolean;

const SHORT_FINGERPRINT = /^[0-9a-f]{64}$/;
const LONG_FINGERPRINT = /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/;
const SPKI_HASH = /^[A-Za-z0-9+/]{43}=$/;

/** The data as a list of strings; a message when it is not one. */
function stringList(data: unknown, what: string): string[] | string {
  const list = typeof data === 'string' ? [data] : data;
  if (!Array.isArray(list)) return `${what} expects a string or a list of strings, not a ${typeName(data)}`;
  for (const v of list) if (typeof v !== 'string') return `${what} must be a string, not a ${typeName(v)}`;
  return list as string[];
}

/** Pomerium's canonical form: 64 lower-case hex digits. */
export function canonicalFingerprint(f: string): string | null {
  if (SHORT_FINGERPRINT.test(f)) return f;
  if (LONG_FINGERPRINT.test(f)) return f.replaceAll(':', '').toLowerCase();
  return null;
}

function fingerprintCondition(data: unknown): Condition | string {
  const list = stringList(data, 'certificate fingerprint');
  if (typeof list === 'string') return list;
  const allowed = new Set<string>();
  for (const f of list) {
    if (f === '') return 'certificate fingerprint must not be empty';
    const canonical = canonicalFingerprint(f);
    if (canonical === null) return `unsupported certificate fingerprint format (${f}): use 64 lower-case hex digits or 32 colon-separated upper-case hex bytes of SHA-256`;
    allowed.add(canonical);
  }
  return (cert) => allowed.has(cert.fingerprint);
}

function spkiCondition(data: unknown): Condition | string {
  const list = stringList(data, 'certificate SPKI hash');
  if (typeof list === 'string') return list;
  for (const h of list) {
    if (h === '') return 'certificate SPKI hash must not be empty';
    if (!SPKI_HASH.test(h)) return `certificate SPKI hash must be a base64-encoded SHA-256 hash (was ${h})`;
  }
  const allowed = new Set(list);
  return (cert) => allowed.has(cert.spkiHash);
}

function sanCondition(data: unknown, sans: (cert: ClientCertificateInput) => readonly string[]): Condition | string {
  const m = compileStringMatcher(data);
  if (!m.ok) return m.message;
  const { matcher } = m;
  return (cert) => matcher.matchesEachForSome(sans(cert));
}

function condition(key: string, data: unknown): Condition | string {
  switch (key) {
    case 'fingerprint':
      return fingerprintCondition(data);
    case 'spki_hash':
      return spkiCondition(data);
    case 'san_email':
      return sanCondition(data, (cert) => cert.sanEmail);
    case 'san_dns':
      return sanCondition(data, (cert) => cert.sanDns);
    case 'san_uri':
      return sanCondition(data, (cert) => cert.sanUri);
    default:
      return `unsupported certificate matcher condition "${key}" (use fingerprint, spki_hash, san_email, san_dns or san_uri)`;
  }
}

export const clientCertificate: CriterionSpec = {
  name: 'client_certificate',
  reads: 'clientCertificate',
  compile(data) {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      return refused(`expected a map of certificate conditions, not a ${typeName(data)}`);
    }
    const conditions: Condition[] = [];
    for (const [key, value] of Object.entries(data)) {
      const c = condition(key, value);
      if (typeof c === 'string') return refused(c);
      conditions.push(c);
    }
    return compiled(
      requestTest('client-certificate-ok', 'client-certificate-unauthorized', (input) => {
        const cert = input.clientCertificate;
        if (cert === null || !cert.presented) return false;
        for (let i = 0; i < conditions.length; i++) if (!conditions[i]!(cert)) return false;
        return true;
      }),
    );
  },
};

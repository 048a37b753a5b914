// Certificates and keys: the server certificates (served by SNI), the global
// and per-route CA bundles, and upstream client certificates. Parsed with
// node:crypto now, so a bad file stops start-up with its key and line rather
// than failing at the first TLS handshake. Keys are never quoted.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { Options, readList, readString } from './fields.js';
import type { Findings, Located } from './findings.js';
import { decodeBase64Std, readPath, valueOrFile } from './secrets.js';
import { fromPlain } from './source.js';
import type { CertificatePair } from './types.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** The PEM blocks of one type (`CERTIFICATE`), in order. */
function pemBlocks(pem: string, type: string): string[] {
  const out: string[] = [];
  for (const m of pem.matchAll(PEM_BLOCK)) if (m[1] === type) out.push(m[0]);
  return out;
}

/** An inline value: base64 of PEM, as Pomerium expects, or PEM text itself. null when it is neither. */
function decodePem(text: string): string | null {
  if (text.trimStart().startsWith('-----BEGIN ')) return text;
  const bytes = decodeBase64Std(text.trim());
  if (bytes === null) return null;
  const pem = bytes.toString('utf8');
  return pem.includes('-----BEGIN ') ? pem : null;
}

/**
 * The DNS names a certificate serves: its SAN DNS entries, lower-cased
 * (wildcards kept as `*.example.com`), or its subject CN when it has none.
 */
function certificateNames(x509: X509Certificate): string[] {
  const san = x509.subjectAltName;
  if (san !== undefined) {
    const names: string[] = [];
    // Node writes `DNS:a, DNS:b, IP Address:…`, quoting (JSON) entries with special characters.
    for (const m of san.matchAll(/(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
      if (m[1] !== 'DNS') continue;
      const raw = m[2] as string;
      names.push((raw.startsWith('"') ? (JSON.parse(raw) as string) : raw).toLowerCase());
    }
    if (names.length > 0) return names;
  }
  for (const line of x509.subject.split('\n')) {
    if (!line.startsWith('CN=')) continue;
    const raw = line.slice(3);
    return [(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw).toLowerCase()];
  }
  return [];
}

function parseLeaf(f: Findings, loc: Located, pem: string): X509Certificate | undefined {
  const leaf = pemBlocks(pem, 'CERTIFICATE')[0];
  if (leaf === undefined) {
    f.error(loc, 'contains no PEM certificate');
    return undefined;
  }
  try {
    return new X509Certificate(leaf);
  } catch {
    f.error(loc, 'the certificate cannot be parsed');
    return undefined;
  }
}

/** A certificate (chain) and its key, checked to belong together. */
function loadPair(f: Findings, cert: Part, key: Part, origin: string): CertificatePair | undefined {
  const x509 = parseLeaf(f, cert.loc, cert.pem);
  let privateKey;
  try {
    privateKey = createPrivateKey(key.pem);
  } catch {
    f.error(key.loc, 'the private key cannot be parsed (it must be PEM and not encrypted)');
    return undefined;
  }
  if (x509 === undefined) return undefined;
  if (!x509.checkPrivateKey(privateKey)) {
    f.error(key.loc, 'the private key does not match the certificate');
    return undefined;
  }
  const expires = new Date(x509.validTo);
  if (expires.getTime() < Date.now()) f.warn(cert.loc, `the certificate expired on ${expires.toISOString()}`);
  return { certPem: cert.pem, keyPem: key.pem, origin, names: certificateNames(x509) };
}

/** One half of a pair: PEM text, where it was configured, and the file it came from (null when inline). */
interface Part {
  readonly loc: Located;
  readonly pem: string;
  readonly path: string | null;
}

function inlinePart(f: Findings, loc: Located, what: string): Part | undefined {
  const text = readString(f, loc);
  if (text === undefined) return undefined;
  const pem = decodePem(text);
  if (pem !== null) return { loc, pem, path: null };
  f.error(loc, `must be a base64-encoded PEM ${what}`);
  return undefined;
}

function filePart(f: Findings, loc: Located, dir: string): Part | undefined {
  const name = readString(f, loc);
  const read = name === undefined ? undefined : readPath(f, loc, name, dir);
  return read === undefined ? undefined : { loc, pem: read.text, path: read.path };
}

/** A `{cert, key}` value of `certificates`: inline (base64) PEM, or a file path. */
function inlineOrFilePart(f: Findings, loc: Located, dir: string): Part | undefined {
  const text = readString(f, loc);
  if (text === undefined) return undefined;
  const pem = decodePem(text);
  return pem !== null ? { loc, pem, path: null } : filePart(f, loc, dir);
}

/** Both halves when both keys are set; an error naming the pair when only one is. */
function pairOf(
  f: Findings,
  cert: Located | undefined,
  key: Located | undefined,
  names: string,
  part: (loc: Located, what: 'certificate' | 'private key') => Part | undefined,
): { cert: Part; key: Part } | undefined {
  if (cert === undefined || key === undefined) {
    const present = cert ?? key;
    if (present !== undefined) f.error(present, `${names} must both be set`);
    return undefined;
  }
  const c = part(cert, 'certificate');
  const k = part(key, 'private key');
  return c === undefined || k === undefined ? undefined : { cert: c, key: k };
}

/** The `certificates` list; from the environment (CERTIFICATES) it is JSON. */
function certificateItems(f: Findings, loc: Located): Located[] | undefined {
  const { node } = loc;
  if (node.kind === 'scalar' && typeof node.value === 'string') {
    try {
      const tree = fromPlain(JSON.parse(node.value), node.file, node.line);
      if (tree.kind === 'list') return tree.items.map((item, i) => ({ node: item, key: `${loc.key}[${i}]` }));
    } catch {
      // reported below
    }
    f.error(loc, 'must be a list of {cert, key} (or, as a string, a JSON array of them)');
    return undefined;
  }
  return readList(f, loc);
}

/**
 * Every server certificate in Pomerium's order: `certificate`/`certificate_key`,
 * then `certificate_file`/`certificate_key_file`, then `certificates`.
 */
export function decodeServerCertificates(f: Findings, options: Options, dir: string): CertificatePair[] {
  const pairs: { cert: Part; key: Part; origin: string }[] = [];
  const inline = pairOf(f, options.get('certificate'), options.get('certificate_key'), 'certificate and certificate_key', (loc, what) =>
    inlinePart(f, loc, what),
  );
  if (inline) pairs.push({ ...inline, origin: 'certificate' });
  const files = pairOf(f, options.get('certificate_file'), options.get('certificate_key_file'), 'certificate_file and certificate_key_file', (loc) =>
    filePart(f, loc, dir),
  );
  if (files) pairs.push({ ...files, origin: files.cert.path ?? 'certificate_file' });
  const list = options.get('certificates');
  for (const item of list === undefined ? [] : (certificateItems(f, list) ?? [])) {
    if (item.node.kind !== 'map') {
      f.error(item, 'must be a map with cert and key');
      continue;
    }
    const entry = Options.of(item.node, item.key);
    for (const e of entry.entries.values()) if (e.name !== 'cert' && e.name !== 'key') f.warn(e.loc, 'unknown config option');
    const pair = pairOf(f, entry.get('cert'), entry.get('key'), 'cert and key', (loc) => inlineOrFilePart(f, loc, dir));
    if (entry.get('cert') === undefined && entry.get('key') === undefined) f.error(item, 'needs both cert and key');
    if (pair) pairs.push({ ...pair, origin: pair.cert.path ?? item.key });
  }
  const out: CertificatePair[] = [];
  for (const p of pairs) {
    const loaded = loadPair(f, p.cert, p.key, p.origin);
    if (loaded) out.push(loaded);
  }
  return out;
}

/**
 * A CA bundle from `name` (base64 PEM) or `name_file` (PEM): every block
 * must be a certificate that parses. null when not set or invalid.
 */
export function decodeCaBundle(f: Findings, options: Options, name: string, dir: string): string | null {
  const value = valueOrFile(f, options, name, dir);
  if (value === undefined || value === null) return null;
  const pem = value.fromFile ? value.text : decodePem(value.text);
  if (pem === null) {
    f.error(value.loc, 'must be a base64-encoded PEM certificate bundle');
    return null;
  }
  return checkCaBundle(f, value.loc, pem);
}

/** The PEM bundle when every block in it is a certificate that parses; null with a problem recorded otherwise. */
function checkCaBundle(f: Findings, loc: Located, pem: string): string | null {
  const blocks = pemBlocks(pem, 'CERTIFICATE');
  if (blocks.length === 0) {
    f.error(loc, 'contains no PEM certificate');
    return null;
  }
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      f.error(loc, `certificate ${i + 1} of the bundle cannot be parsed`);
      return null;
    }
  }
  return pem;
}

/** A CA bundle from a `*_file` key alone (keys with no inline form). null when not set or invalid. */
export function decodeCaBundleFile(f: Findings, loc: Located | undefined, dir: string): string | null {
  if (loc === undefined) return null;
  const part = filePart(f, loc, dir);
  return part === undefined ? null : checkCaBundle(f, loc, part.pem);
}

/**
 * A certificate and its key from two `*_file` keys (keys with no inline
 * form), checked to belong together; both or neither. null when unset or invalid.
 */
export function decodeCertificateFiles(f: Findings, cert: Located | undefined, key: Located | undefined, names: string, dir: string): CertificatePair | null {
  const pair = pairOf(f, cert, key, names, (loc) => filePart(f, loc, dir));
  if (pair === undefined) return null;
  return loadPair(f, pair.cert, pair.key, pair.cert.path ?? pair.cert.loc.key) ?? null;
}

/**
 * Upstream client certificate: `tls_client_cert`/`tls_client_key` (base64 PEM)
 * or `tls_client_cert_file`/`tls_client_key_file`; each pair both or neither.
 */
export function decodeClientCertificate(f: Findings, options: Options, dir: string): { cert: string; key: string } | null {
  const certFile = options.get('tls_client_cert_file');
  if (options.get('tls_client_cert') !== undefined && certFile !== undefined) {
    f.error(certFile, 'set either tls_client_cert/tls_client_key or tls_client_cert_file/tls_client_key_file, not both');
    return null;
  }
  const pair =
    pairOf(f, options.get('tls_client_cert'), options.get('tls_client_key'), 'tls_client_cert and tls_client_key', (loc, what) =>
      inlinePart(f, loc, what),
    ) ?? pairOf(f, certFile, options.get('tls_client_key_file'), 'tls_client_cert_file and tls_client_key_file', (loc) => filePart(f, loc, dir));
  if (pair === undefined) return null;
  const loaded = loadPair(f, pair.cert, pair.key, pair.cert.path ?? pair.cert.loc.key);
  return loaded === undefined ? null : { cert: loaded.certPem, key: loaded.keyPem };
}

// The demo's TLS certificates: a local CA and a server certificate for the
// demo's host names, made on first run with @peculiar/x509 on WebCrypto (no
// openssl needed) and reused afterwards, so a browser told to trust the CA
// once keeps trusting it. The server certificate is made again when it is
// about to expire, when the names change, or when the files no longer
// belong together; the CA only when it is itself unusable.
// @peculiar/x509 reaches the Reflect metadata API through tsyringe, which
// refuses to load without it: the polyfill must be imported first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DemoCertificates {
  /** The CA certificate (PEM): what a browser or client is told to trust. */
  readonly caCertFile: string;
  /** The server certificate (PEM), for every name asked for. */
  readonly certFile: string;
  /** The server certificate's private key (PEM, PKCS#8, mode 0600). */
  readonly keyFile: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const CA_VALIDITY_DAYS = 3650;
const SERVER_VALIDITY_DAYS = 365;
/** Certificates this close to their end are replaced rather than reused. */
const RENEW_BEFORE_MS = 7 * DAY_MS;

const FILES = Object.freeze({ caCert: 'ca.pem', caKey: 'ca-key.pem', cert: 'server.pem', key: 'server-key.pem' });

function pem(type: string, der: ArrayBuffer): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

/** Writes through a temporary file and a rename, so a crash never leaves half a key behind. */
function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** The DNS names of a certificate's subjectAltName, sorted. */
function dnsNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4))
    .sort();
}

function usable(cert: X509Certificate, keyPem: string, now: number): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem)) && Date.parse(cert.validFrom) <= now && Date.parse(cert.validTo) - now > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

interface Authority {
  readonly cert: x509.X509Certificate;
  readonly key: CryptoKey;
  readonly node: X509Certificate;
}

async function loadAuthority(dir: string, now: number): Promise<Authority | null> {
  const certPem = readOrNull(join(dir, FILES.caCert));
  const keyPem = readOrNull(join(dir, FILES.caKey));
  if (certPem === null || keyPem === null) return null;
  let node: X509Certificate;
  try {
    node = new X509Certificate(certPem);
  } catch {
    return null;
  }
  if (!node.ca || !usable(node, keyPem, now)) return null;
  const der = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
  const key = await crypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
  return { cert: new x509.X509Certificate(certPem), key, node };
}

async function createAuthority(dir: string, now: number): Promise<Authority> {
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=Postern demo CA (this machine only)',
    keys,
    signingAlgorithm: ALGORITHM,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + CA_VALIDITY_DAYS * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  writeAtomic(join(dir, FILES.caKey), pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', keys.privateKey)), 0o600);
  const certPem = cert.toString('pem');
  writeAtomic(join(dir, FILES.caCert), `${certPem}\n`, 0o644);
  return { cert, key: keys.privateKey, node: new X509Certificate(certPem) };
}

/** True when the server certificate on disk can be reused: same names, issued by this CA, with its key, not near its end. */
function serverReusable(dir: string, authority: Authority, names: readonly string[], now: number): boolean {
  const certPem = readOrNull(join(dir, FILES.cert));
  const keyPem = readOrNull(join(dir, FILES.key));
  if (certPem === null || keyPem === null) return false;
  try {
    const cert = new X509Certificate(certPem);
    const wanted = [...new Set(names)].sort();
    const have = dnsNames(cert);
    return cert.verify(authority.node.publicKey) && usable(cert, keyPem, now) && have.length === wanted.length && have.every((n, i) => n === wanted[i]);
  } catch {
    return false;
  }
}

async function createServer(dir: string, authority: Authority, names: readonly string[], now: number): Promise<void> {
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${names[0]!}`,
    issuer: authority.cert.subject,
    publicKey: keys.publicKey,
    signingKey: authority.key,
    signingAlgorithm: ALGORITHM,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + SERVER_VALIDITY_DAYS * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...new Set(names)].map((value) => ({ type: 'dns' as const, value }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(authority.cert),
    ],
  });
  writeAtomic(join(dir, FILES.key), pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', keys.privateKey)), 0o600);
  writeAtomic(join(dir, FILES.cert), `${cert.toString('pem')}\n`, 0o644);
}

/**
 * The demo's CA and server certificate for `names` (DNS names) in `dir`,
 * made when missing, expiring, for other names, or not matching their keys.
 */
export async function ensureDemoCertificates(dir: string, names: readonly string[], now: number = Date.now()): Promise<DemoCertificates> {
  if (names.length === 0) throw new Error('the demo certificate needs at least one DNS name');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let authority = await loadAuthority(dir, now);
  const fresh = authority === null;
  authority ??= await createAuthority(dir, now);
  if (fresh || !serverReusable(dir, authority, names, now)) await createServer(dir, authority, names, now);
  return { caCertFile: join(dir, FILES.caCert), certFile: join(dir, FILES.cert), keyFile: join(dir, FILES.key) };
}

// Certificates generated at test time with the `openssl` CLI: a throw-away CA
// and leaf certificates for chosen DNS names (valid, expired or self-signed),
// written to a temporary directory so they can be named in a config file.
// P-256 keys keep generation fast (a few milliseconds per certificate).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPairFiles {
  /** Path of the PEM certificate. */
  readonly certFile: string;
  /** Path of the PEM private key (unencrypted). */
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CertificateAuthority extends KeyPairFiles {
  /** The directory holding every file of this CA and its leaves. */
  readonly dir: string;
  /** Removes the directory and everything in it. */
  remove(): void;
}

export interface LeafOptions {
  /** DNS names for the subjectAltName; the first one is also the CN. */
  readonly names: readonly string[];
  /** Valid from 2020-01-01 to 2020-01-02 instead of from now on. */
  readonly expired?: boolean;
  /** Signed by its own key instead of by the CA. */
  readonly selfSigned?: boolean;
}

const CURVE = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function openssl(cwd: string, args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: err });
  }
}

function readPair(certFile: string, keyFile: string): KeyPairFiles {
  return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
}

let leafCounter = 0;
/** A file-system-safe stem for a certificate's files, unique within the CA directory. */
function stemFor(names: readonly string[]): string {
  leafCounter += 1;
  return `leaf${leafCounter}-${(names[0] ?? 'none').replace(/[^a-z0-9.-]/gi, '_')}`;
}

/** Creates a CA (valid for two days) in a fresh temporary directory. */
export function createCertificateAuthority(commonName = 'Postern Test CA'): CertificateAuthority {
  const dir = mkdtempSync(join(tmpdir(), 'postern-certs-'));
  openssl(dir, [
    'req', '-x509', ...CURVE, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  // `openssl ca` (used for the explicit validity dates of expired leaves) needs its database files.
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ca]', 'default_ca = testca',
      '[testca]', `dir = ${dir}`, 'database = $dir/index.txt', 'new_certs_dir = $dir', 'serial = $dir/serial',
      'default_md = sha256', 'policy = anything', 'copy_extensions = none', 'unique_subject = no',
      '[anything]', 'commonName = supplied', '',
    ].join('\n'),
  );
  return { dir, ...readPair(join(dir, 'ca.pem'), join(dir, 'ca.key')), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Creates a server certificate for `names`, signed by `ca` unless `selfSigned`. */
export function createLeafCertificate(ca: CertificateAuthority, opts: LeafOptions): KeyPairFiles {
  if (opts.names.length === 0) throw new Error('a leaf certificate needs at least one DNS name');
  const stem = stemFor(opts.names);
  const dir = ca.dir;
  const certFile = join(dir, `${stem}.pem`);
  const keyFile = join(dir, `${stem}.key`);
  const extFile = join(dir, `${stem}.ext`);
  const san = opts.names.map((n) => `DNS:${n}`).join(',');
  writeFileSync(extFile, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n`);
  const subj = `/CN=${opts.names[0]}`;

  if (opts.selfSigned) {
    if (opts.expired) throw new Error('an expired self-signed certificate is not supported; sign it with the CA instead');
    openssl(dir, ['req', '-x509', ...CURVE, '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', subj, '-addext', `subjectAltName=${san}`]);
    return readPair(certFile, keyFile);
  }

  const csrFile = join(dir, `${stem}.csr`);
  openssl(dir, ['req', '-new', ...CURVE, '-keyout', keyFile, '-out', csrFile, '-subj', subj]);
  if (opts.expired) {
    openssl(dir, [
      'ca', '-batch', '-config', join(dir, 'ca.cnf'), '-cert', ca.certFile, '-keyfile', ca.keyFile, '-in', csrFile,
      '-out', certFile, '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extfile', extFile, '-notext',
    ]);
  } else {
    openssl(dir, [
      'x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial',
      '-out', certFile, '-days', '2', '-extfile', extFile,
    ]);
  }
  return readPair(certFile, keyFile);
}

// `sslmode` in the DSN, as pg reads it, against a TLS-terminating proxy in
// front of the real server with certificates made for the test. These pin
// the meanings src/databroker/postgres/target.ts documents; in particular
// that `require` verifies the certificate and the host name (pg 8), so an
// upgrade that weakens it to libpq's "encrypt only" fails here.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { openPostgresBackend } from '../../../src/databroker/postgres/index.js';
import { createCertificateAuthority, createLeafCertificate, type CertificateAuthority, type KeyPairFiles } from '../../helpers/certs.js';
import { startPgProxy, type PgProxy } from './proxy.js';
import { capturingLogger, dropSchema, PG_DSN, pgTest, testSealer } from './server.js';

const upstream = new URL(PG_DSN);
let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
let proxies: Record<'good' | 'wrongName' | 'untrusted' | 'noTls', PgProxy>;

before(async () => {
  ca = createCertificateAuthority('Postern Test Postgres CA');
  otherCa = createCertificateAuthority('Some Other CA');
  const tlsWith = (pair: KeyPairFiles) => ({ key: pair.keyPem, cert: pair.certPem });
  const start = (pair?: KeyPairFiles) =>
    startPgProxy({
      upstreamHost: upstream.hostname,
      upstreamPort: Number(upstream.port || 5432),
      host: 'localhost',
      ...(pair ? { tls: tlsWith(pair) } : {}),
    });
  proxies = {
    good: await start(createLeafCertificate(ca, { names: ['localhost'] })),
    wrongName: await start(createLeafCertificate(ca, { names: ['db.other.example'] })),
    untrusted: await start(createLeafCertificate(otherCa, { names: ['localhost'] })),
    noTls: await start(),
  };
});

after(async () => {
  for (const p of Object.values(proxies ?? {})) await p.close();
  ca?.remove();
  otherCa?.remove();
});

function dsn(proxy: PgProxy, query: string): string {
  const url = new URL(PG_DSN);
  url.host = `localhost:${proxy.port}`;
  url.search = query.replaceAll('{ca}', encodeURIComponent(ca.certFile)).replaceAll('{otherCa}', encodeURIComponent(otherCa.certFile));
  return url.toString();
}

const SERVERS: Record<keyof typeof proxies, string> = {
  good: 'a server with a test-CA certificate for localhost',
  wrongName: 'a server with a test-CA certificate for another name',
  untrusted: 'a server with a certificate from another CA',
  noTls: 'a server without TLS',
};

interface Case {
  readonly proxy: keyof typeof proxies;
  readonly query: string;
  /** 'tls' or 'plain': opens, over that; otherwise a pattern the refusal matches. */
  readonly outcome: 'tls' | 'plain' | RegExp;
  /** What health (and the logs) say about the connection when it opens. */
  readonly shown?: string;
}

const CASES: readonly Case[] = [
  { proxy: 'good', query: 'sslmode=verify-full&sslrootcert={ca}', outcome: 'tls', shown: '(TLS, certificate verified)' },
  { proxy: 'wrongName', query: 'sslmode=verify-full&sslrootcert={ca}', outcome: /Hostname\/IP does not match/ },
  { proxy: 'untrusted', query: 'sslmode=verify-full&sslrootcert={ca}', outcome: /certificate|verify/i },
  { proxy: 'good', query: 'sslmode=verify-full', outcome: /certificate|verify/i },
  { proxy: 'good', query: 'sslmode=verify-full&sslrootcert={otherCa}', outcome: /certificate|verify/i },
  // pg 8: require (and verify-ca) verify the chain AND the host name, like verify-full.
  { proxy: 'good', query: 'sslmode=require&sslrootcert={ca}', outcome: 'tls', shown: '(TLS, certificate verified)' },
  { proxy: 'untrusted', query: 'sslmode=require', outcome: /certificate|verify/i },
  { proxy: 'wrongName', query: 'sslmode=require&sslrootcert={ca}', outcome: /Hostname\/IP does not match/ },
  { proxy: 'wrongName', query: 'sslmode=verify-ca&sslrootcert={ca}', outcome: /Hostname\/IP does not match/ },
  // libpq's meanings, asked for explicitly: verify-ca checks the chain but not the name.
  { proxy: 'wrongName', query: 'uselibpqcompat=true&sslmode=verify-ca&sslrootcert={ca}', outcome: 'tls', shown: '(TLS, certificate verified, host name not checked)' },
  // pg's own mode: encrypted, nothing verified.
  { proxy: 'untrusted', query: 'sslmode=no-verify', outcome: 'tls', shown: '(TLS, certificate NOT verified)' },
  { proxy: 'noTls', query: 'sslmode=verify-full&sslrootcert={ca}', outcome: /does not support SSL/ },
  { proxy: 'noTls', query: 'sslmode=disable', outcome: 'plain', shown: '(no TLS)' },
  { proxy: 'noTls', query: '', outcome: 'plain', shown: '(no TLS)' },
];

for (const c of CASES) {
  const expectation = typeof c.outcome === 'string' ? `connects over ${c.outcome === 'tls' ? 'TLS' : 'plaintext'}` : 'is refused';
  pgTest(`sslmode: ${c.query || '(none)'} to ${SERVERS[c.proxy]} ${expectation}`, async () => {
    const proxy = proxies[c.proxy];
    const before = { ...proxy.counts };
    const schema = `postern_tls_${Math.random().toString(16).slice(2, 10)}`;
    const { logger } = capturingLogger();
    const open = openPostgresBackend({ dsn: dsn(proxy, c.query), sealer: testSealer(), logger, schema, retention: { pruneIntervalMs: 0 } });
    if (typeof c.outcome === 'string') {
      const backend = await open;
      try {
        const change = await backend.write({ type: 't', id: 'a', data: { ok: true }, expiresAt: null, modifiedAt: 1 });
        assert.equal(change.version, 1);
        const grew = c.outcome === 'tls' ? proxy.counts.tls > before.tls : proxy.counts.plain > before.plain;
        assert.ok(grew, `connected over ${c.outcome}`);
        assert.ok(backend.health().detail.includes(c.shown!), backend.health().detail);
      } finally {
        await backend.close();
        await dropSchema(schema);
      }
    } else {
      await assert.rejects(open, (err: Error & { code?: string }) => {
        assert.equal(err.code, 'PST_DATABROKER_UNAVAILABLE');
        assert.match(err.message, c.outcome as RegExp);
        return true;
      });
    }
  });
}

// What a log line or a health report may say about the database Postern
// talks to. It is built from the parameters pg parsed out of the DSN, never
// from the DSN itself, so a password (in the userinfo or in `?password=`),
// a client key or any other query parameter cannot reach a log.
//
// TLS follows pg's reading of `sslmode` (pg 8, pg-connection-string 2):
//   (none), disable              no TLS
//   prefer, require, verify-ca,
//   verify-full                  TLS, the certificate verified against the
//                                CA (`sslrootcert`, else the system CAs) AND
//                                the host name checked. `require` is thus
//                                stricter than libpq's (which encrypts without
//                                verifying): a man in the middle is refused.
//   no-verify                    TLS without any verification (pg's own mode)
//   uselibpqcompat=true&…        libpq's weaker meanings (verify-ca skips the
//                                host name; require verifies nothing)
// test/databroker/postgres/tls.test.ts pins these, so an upgrade of pg that
// weakens `require` fails the tests instead of passing silently.

/** The parts of a pg client's connection parameters that are safe to show. */
export interface TargetParameters {
  readonly user?: string | undefined;
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  readonly database?: string | undefined;
  /** pg's `ssl` setting: false, true, or tls.connect options. */
  readonly ssl?: unknown;
}

/** How a connection is protected, in words. */
export function describeTls(ssl: unknown): string {
  if (ssl === false || ssl === undefined || ssl === null) return 'no TLS';
  if (typeof ssl !== 'object') return 'TLS, certificate verified';
  const options = ssl as { rejectUnauthorized?: unknown; checkServerIdentity?: unknown };
  if (options.rejectUnauthorized === false) return 'TLS, certificate NOT verified';
  if (typeof options.checkServerIdentity === 'function') return 'TLS, certificate verified, host name not checked';
  return 'TLS, certificate verified';
}

/** `user@host:port/database (TLS …)`: where the store lives, without credentials. */
export function describeTarget(p: TargetParameters): string {
  const host = p.host === undefined || p.host === '' ? 'localhost' : p.host;
  // An IPv6 literal needs brackets to be told apart from the port.
  const shownHost = host.includes(':') && !host.startsWith('/') ? `[${host}]` : host;
  const user = p.user === undefined || p.user === '' ? '' : `${p.user}@`;
  const port = p.port === undefined || Number.isNaN(p.port) ? '' : `:${p.port}`;
  return `${user}${shownHost}${port}/${p.database ?? ''} (${describeTls(p.ssl)})`;
}

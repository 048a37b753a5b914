// One undici Pool per distinct upstream (origin plus TLS settings), built
// once from the configuration. Connections are bounded, kept alive for less
// time than common upstream servers keep them (so we close first and avoid
// the reuse-after-close race), and TLS is verified unless a route explicitly
// says tls_skip_verify.
import { rootCertificates } from 'node:tls';
import { Pool } from 'undici';
import type { Config, Route, UpstreamTarget } from '../config/types.js';

/** Connections per upstream: enough for a busy route, bounded so one slow upstream cannot eat every file descriptor. */
const CONNECTIONS_PER_UPSTREAM = 128;
/** Below Node's and nginx's default upstream keep-alive of 5 s / 75 s. */
const KEEP_ALIVE_MS = 4_000;
const CONNECT_TIMEOUT_MS = 10_000;

export class UpstreamPools {
  readonly #byKey = new Map<string, Pool>();
  /** For each route index, the pool of each of its `to` targets, in order. */
  readonly #byRoute: Pool[][] = [];

  constructor(config: Config) {
    for (const route of config.routes) {
      this.#byRoute[route.index] = route.to.map((target) => this.#poolFor(route, target, config.certificateAuthority));
    }
  }

  pools(route: Route): readonly Pool[] {
    return this.#byRoute[route.index]!;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#byKey.values()].map((p) => p.close().catch(() => p.destroy())));
  }

  #poolFor(route: Route, target: UpstreamTarget, extraCa: string | null): Pool {
    const tls = route.tls;
    const secure = target.protocol === 'https:';
    const key = secure
      ? [target.origin, tls.skipVerify, tls.serverName, tls.customCa, tls.clientCert, tls.clientKey].join('\0')
      : target.origin;
    let pool = this.#byKey.get(key);
    if (pool) return pool;
    const connect: Record<string, unknown> = { timeout: CONNECT_TIMEOUT_MS };
    if (secure) {
      connect.rejectUnauthorized = !tls.skipVerify;
      if (tls.serverName) connect.servername = tls.serverName;
      // tls_custom_ca replaces the trust roots (Pomerium semantics); the global
      // certificate_authority extends the system roots instead.
      if (tls.customCa) connect.ca = tls.customCa;
      else if (extraCa) connect.ca = [...rootCertificates, extraCa];
      if (tls.clientCert && tls.clientKey) {
        connect.cert = tls.clientCert;
        connect.key = tls.clientKey;
      }
    }
    pool = new Pool(target.origin, {
      connections: CONNECTIONS_PER_UPSTREAM,
      pipelining: 1,
      keepAliveTimeout: KEEP_ALIVE_MS,
      keepAliveMaxTimeout: KEEP_ALIVE_MS,
      connect,
    });
    this.#byKey.set(key, pool);
    return pool;
  }
}

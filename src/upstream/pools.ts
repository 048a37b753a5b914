// One HTTP/1.1 pool per distinct upstream (origin plus TLS settings), shared
// by every route that names it and kept across configuration reloads while
// some route still does. Connections are bounded, kept alive for less
// time than common upstream servers keep them (so we close first and avoid
// the reuse-after-close race), and TLS is verified unless a route explicitly
// says tls_skip_verify.
import { rootCertificates } from 'node:tls';
import { Http1Pool, type PoolTls } from './http1/index.js';
import type { Route, UpstreamTarget } from '../config/types.js';

/** Connections per upstream: enough for a busy route, bounded so one slow upstream cannot eat every file descriptor. */
const CONNECTIONS_PER_UPSTREAM = 128;
/** Below Node's and nginx's default upstream keep-alive of 5 s / 75 s. */
const KEEP_ALIVE_MS = 4_000;
const CONNECT_TIMEOUT_MS = 10_000;

/** How long a pool no route names any more stays open: requests routed just before a reload still reach it. */
const RETIRE_AFTER_MS = 30_000;

export class UpstreamPools {
  readonly #byKey = new Map<string, Http1Pool>();
  readonly #retiring = new Set<Http1Pool>();
  /** The global certificate_authority (extends the system roots for https targets). */
  readonly #extraCa: string | null;

  constructor(certificateAuthority: string | null) {
    this.#extraCa = certificateAuthority;
  }

  /** The pool of each of the route's `to` targets, in order (made on first use, then shared). */
  pools(route: Route): readonly Http1Pool[] {
    return route.to.map((target) => this.#poolFor(route, target, this.#extraCa));
  }

  /**
   * After a reload: closes, once in-flight requests have had time to finish,
   * every pool that none of `inUse` (the new configuration's pools) is.
   */
  retainOnly(inUse: Iterable<Http1Pool>): void {
    const keep = new Set(inUse);
    for (const [key, pool] of this.#byKey) {
      if (keep.has(pool)) continue;
      this.#byKey.delete(key);
      this.#retiring.add(pool);
      setTimeout(() => {
        this.#retiring.delete(pool);
        pool.close().catch(() => pool.destroy());
      }, RETIRE_AFTER_MS).unref();
    }
  }

  async close(): Promise<void> {
    const all = [...this.#byKey.values(), ...this.#retiring];
    this.#byKey.clear();
    this.#retiring.clear();
    await Promise.all(all.map((p) => p.close().catch(() => p.destroy())));
  }

  #poolFor(route: Route, target: UpstreamTarget, extraCa: string | null): Http1Pool {
    const tls = route.tls;
    const secure = target.protocol === 'https:';
    const key = secure
      ? [target.origin, tls.skipVerify, tls.serverName, tls.customCa, tls.clientCert, tls.clientKey].join('\0')
      : target.origin;
    let pool = this.#byKey.get(key);
    if (pool) return pool;
    let poolTls: PoolTls | undefined;
    if (secure) {
      poolTls = {
        rejectUnauthorized: !tls.skipVerify,
        ...(tls.serverName ? { servername: tls.serverName } : {}),
        // tls_custom_ca replaces the trust roots (Pomerium semantics); the global
        // certificate_authority extends the system roots instead.
        ...(tls.customCa ? { ca: tls.customCa } : extraCa ? { ca: [...rootCertificates, extraCa] } : {}),
        ...(tls.clientCert && tls.clientKey ? { cert: tls.clientCert, key: tls.clientKey } : {}),
      };
    }
    pool = new Http1Pool(target.origin, {
      connections: CONNECTIONS_PER_UPSTREAM,
      keepAliveMs: KEEP_ALIVE_MS,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      ...(poolTls ? { tls: poolTls } : {}),
    });
    this.#byKey.set(key, pool);
    return pool;
  }
}

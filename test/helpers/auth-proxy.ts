// Postern set up for the authentication tests: the proxy on a loopback port
// chosen before start (authenticate_service_url must name it), sign-in
// through a given OpenID provider, an echo upstream behind
// http://app.localhost, and a check that nothing of ours reached an upstream.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { baseConfig, startPostern, type Postern } from './postern.js';
import { startEcho, type Upstream } from './upstreams.js';

/** A port that was free a moment ago (bound on :0, read, closed). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ProviderSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface AuthProxyOptions {
  readonly provider: ProviderSettings;
  /** Routes; each gets `to` filled in with the echo upstream when it has none. Default: app.localhost for any signed-in user. */
  readonly routes?: readonly Record<string, unknown>[];
  /** More global settings (cookie_name, signout_redirect_url, …). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface AuthProxy {
  readonly proxy: Postern;
  readonly port: number;
  /** The upstream behind every route without its own `to`. */
  readonly upstream: Upstream;
  readonly sharedSecret: string;
  /** `http://<host>:<port><path>`. */
  url(host: string, path?: string): string;
  /** `http://app.localhost:<port><path>`. */
  app(path?: string): string;
  /** `http://authenticate.localhost:<port><path>`. */
  auth(path?: string): string;
  close(): Promise<void>;
}

export const APP_HOST = 'app.localhost';
export const AUTH_HOST = 'authenticate.localhost';

export async function startAuthProxy(opts: AuthProxyOptions): Promise<AuthProxy> {
  const upstream = await startEcho('app');
  const routes = (opts.routes ?? [{ from: `http://${APP_HOST}`, allow_any_authenticated_user: true }]).map((r) => ({ to: upstream.origin, ...r }));
  let lastError: unknown;
  // The port is chosen before the proxy binds it; another process may take it in between, so try again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const config = baseConfig(routes, {
      address: `127.0.0.1:${port}`,
      authenticate_service_url: `http://${AUTH_HOST}:${port}`,
      idp_provider: 'oidc',
      idp_provider_url: opts.provider.issuer,
      idp_client_id: opts.provider.clientId,
      idp_client_secret: opts.provider.clientSecret,
      ...opts.extra,
    });
    try {
      const proxy = await startPostern(config);
      const url = (host: string, path = '/'): string => `http://${host}:${port}${path}`;
      return {
        proxy,
        port,
        upstream,
        sharedSecret: config['shared_secret'] as string,
        url,
        app: (path) => url(APP_HOST, path),
        auth: (path) => url(AUTH_HOST, path),
        close: async () => {
          await proxy.stop();
          await upstream.close();
        },
      };
    } catch (err) {
      lastError = err;
      if (!/EADDRINUSE|address already in use/i.test(String(err))) break;
    }
  }
  await upstream.close();
  throw lastError;
}

/**
 * Fails when any request that reached `upstream` carried one of `secrets`
 * (cookie values, tokens) anywhere in its headers or URL, or the session
 * cookie or a Pomerium credential header by name. (`_pomerium_*` cookies
 * are other names: they pass.)
 */
export function assertNothingOfOursUpstream(upstream: Upstream, secrets: readonly string[], cookieName = '_pomerium'): void {
  for (const rec of upstream.requests) {
    const text = `${rec.url}\n${rec.rawHeaders.join('\n')}`;
    for (const secret of secrets) {
      if (secret.length >= 8) assert.ok(!text.includes(secret), `a credential reached the upstream in ${rec.method} ${rec.url}:\n${text}`);
    }
    for (const cookie of [rec.headers.cookie ?? ''].flat()) {
      for (const piece of cookie.split(';')) {
        const name = piece.split('=')[0]!.trim();
        assert.notEqual(name, cookieName, `the session cookie reached the upstream in ${rec.method} ${rec.url}`);
      }
    }
    assert.equal(rec.headers['x-pomerium-authorization'], undefined, 'X-Pomerium-Authorization reached the upstream');
    const authorization = rec.headers.authorization ?? '';
    assert.ok(!/^(pomerium\s|bearer\s+pomerium-)/i.test(authorization), `Authorization: ${authorization} reached the upstream`);
  }
}

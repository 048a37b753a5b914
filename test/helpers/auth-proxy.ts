// Postern set up for the authentication tests: the proxy on a loopback port
// chosen before start (authenticate_service_url must name it), sign-in
// through a given OpenID provider (the development IdP, or the fake one that
// misbehaves on demand), an echo upstream behind http://app.localhost, and a
// check that nothing of ours reached an upstream.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { AuthKeys } from '../../src/authenticate/keys.js';
import { startFakeIdp, type FakeIdp, type FakeIdpOptions } from './fake-idp.js';
import { startTestIdp, type TestClient, type TestIdp, type TestIdpOptions } from './idp.js';
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
  /** The port to listen on, when something (the provider's registered redirect URI) already names it; default a free one. */
  readonly port?: number;
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
  /** The keys the proxy derives from its shared_secret and cookie_secret, for tests that forge or re-sign. */
  readonly keys: AuthKeys;
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
  for (let attempt = 0; attempt < (opts.port === undefined ? 3 : 1); attempt++) {
    const port = opts.port ?? (await freePort());
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
        keys: new AuthKeys(Buffer.from(config['shared_secret'] as string, 'base64'), Buffer.from(config['cookie_secret'] as string, 'base64')),
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
      if (!/EADDRINUSE|address already in use|PST_LISTEN_FAILED/i.test(String(err))) break;
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
      // Shorter strings would match by chance; every secret of ours is far longer.
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

export interface DevIdpSetup {
  readonly idp: TestIdp;
  readonly px: AuthProxy;
  /** The client Postern is registered as at the provider. */
  readonly client: TestClient;
  close(): Promise<void>;
}

/**
 * The development IdP (oidc-provider) and Postern in front of it. The
 * proxy's port is chosen first, because the provider must know the
 * redirect URI (`http://authenticate.localhost:<port>/oauth2/callback`)
 * and the post-logout URIs before it starts.
 */
export async function startWithDevIdp(
  opts: Omit<AuthProxyOptions, 'provider' | 'port'> & {
    readonly idp?: Omit<TestIdpOptions, 'clients'>;
    readonly postLogoutRedirectUris?: readonly string[];
  } = {},
): Promise<DevIdpSetup> {
  const port = await freePort();
  const client: TestClient = {
    clientId: 'postern',
    clientSecret: randomBytes(24).toString('base64url'),
    redirectUris: [`http://${AUTH_HOST}:${port}/oauth2/callback`],
    postLogoutRedirectUris: [`http://${AUTH_HOST}:${port}/.pomerium/signed_out`, ...(opts.postLogoutRedirectUris ?? [])],
  };
  const idp = await startTestIdp({ ...opts.idp, clients: [client] });
  let px: AuthProxy;
  try {
    px = await startAuthProxy({ ...opts, port, provider: { issuer: idp.issuer, clientId: client.clientId, clientSecret: client.clientSecret } });
  } catch (err) {
    await idp.close();
    throw err;
  }
  return {
    idp,
    px,
    client,
    close: async () => {
      await px.close();
      await idp.close();
    },
  };
}

export interface FakeIdpSetup {
  readonly idp: FakeIdp;
  readonly px: AuthProxy;
  close(): Promise<void>;
}

/** The misbehaving fake provider and Postern in front of it. */
export async function startWithFakeIdp(opts: Omit<AuthProxyOptions, 'provider'> & { readonly idp?: FakeIdpOptions } = {}): Promise<FakeIdpSetup> {
  const idp = await startFakeIdp(opts.idp);
  let px: AuthProxy;
  try {
    px = await startAuthProxy({ ...opts, provider: idp });
  } catch (err) {
    await idp.close();
    throw err;
  }
  return {
    idp,
    px,
    close: async () => {
      await px.close();
      await idp.close();
    },
  };
}

/** The second route host of the tests that sign in on two hosts. */
export const SECOND_HOST = 'second.localhost';

/**
 * For a whole test file: registers its before/after hooks that start and
 * stop the development IdP and Postern with two routes for any signed-in
 * user, on APP_HOST and SECOND_HOST. The object returned reads the running
 * setup (call this before the file's own hooks that use it).
 */
export function useDevIdpWithTwoRoutes(): DevIdpSetup {
  let setup: DevIdpSetup | undefined;
  before(async () => {
    setup = await startWithDevIdp({
      routes: [
        { from: `http://${APP_HOST}`, allow_any_authenticated_user: true },
        { from: `http://${SECOND_HOST}`, allow_any_authenticated_user: true },
      ],
    });
  });
  after(async () => {
    await setup?.close();
  });
  const running = (): DevIdpSetup => setup ?? assert.fail('the dev IdP and Postern are not running: use them inside tests');
  return {
    get idp() {
      return running().idp;
    },
    get px() {
      return running().px;
    },
    get client() {
      return running().client;
    },
    close: () => running().close(),
  };
}

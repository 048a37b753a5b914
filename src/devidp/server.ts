// Starting the development identity provider in-process: what
// `postern dev-idp` runs, and what tests and the demo start directly.
// It listens first and builds the provider second, so that an issuer
// derived from the address (port 0 in tests) names the port actually bound.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { Errors, PosternError } from '../errors.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { Accounts } from './accounts.js';
import { createInteractionHandler, INTERACTION_PREFIX } from './interactions.js';
import { loadOrCreateSigningKeys } from './keys.js';
import { isLoopbackAddress } from './loopback.js';
import { loadOidcProvider } from './oidc-provider-module.js';
import { contentSecurityPolicy, messagePage, PAGE_HEADERS } from './pages.js';
import { providerConfiguration } from './provider.js';
import { MemoryStore } from './store.js';
import { LoginThrottle } from './throttle.js';
import type { DevIdpConfig } from './types.js';

/** A token endpoint response body (access_token, id_token, refresh_token, …). */
export type TokenResponse = Record<string, unknown>;

export interface DevIdpOptions {
  /** Default: JSON lines on stdout at level info. */
  readonly logger?: Logger;
  /** Private signing keys (JWKs with kid); default: from `keysFile`, or new ones. */
  readonly signingKeys?: readonly JWK[];
  /**
   * Rewrites every successful token endpoint response before it is sent.
   * For tests only: it lets them play a broken or hostile provider (an ID
   * token with a wrong issuer, audience, nonce, algorithm or key).
   */
  readonly rewriteTokenResponse?: (body: TokenResponse) => TokenResponse | Promise<TokenResponse>;
}

export interface DevIdp {
  /** The issuer identifier, exactly as it appears in tokens and discovery. */
  readonly issuer: string;
  readonly port: number;
  /** Revokes every grant of a user: the refresh and access tokens issued under them stop working at once. Returns how many grants there were. */
  revokeGrants(username: string): number;
  /** Ends a user's sign-in sessions at the provider: the next authorization asks for the password again. Returns how many there were. */
  endSessions(username: string): number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** An IPv6 literal goes in brackets in a URL. */
function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function listen(host: string, port: number, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<ReturnType<typeof createServer>> {
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new PosternError(Errors.LISTEN_FAILED, `${urlHost(host)}:${port}`, { cause: err })));
    server.listen(port, host, () => resolve(server));
  });
}

/** One JSON line per sign-out, token issued and refusal, so a developer can follow a flow in the log. */
function subscribeLogs(provider: Provider, logger: Logger): void {
  const clientOf = (ctx: KoaContextWithOIDC): string | null => ctx.oidc?.client?.clientId ?? null;
  const problem = (event: string) => (ctx: KoaContextWithOIDC, err: { error?: string; error_description?: string; message: string }) =>
    logger.warn({ event, client_id: clientOf(ctx), error: err.error ?? err.message, error_description: err.error_description }, event.replace('_', ' '));
  provider.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => logger.error({ event: 'server_error', path: ctx.path, err }, 'oidc-provider failed'));
  provider.on('authorization.error', problem('authorization_error'));
  provider.on('grant.error', problem('token_error'));
  provider.on('userinfo.error', problem('userinfo_error'));
  provider.on('end_session.error', problem('end_session_error'));
  provider.on('grant.success', (ctx: KoaContextWithOIDC) =>
    logger.info({ event: 'token_issued', client_id: clientOf(ctx), grant_type: ctx.oidc.params?.grant_type ?? null }, 'token issued'));
  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => logger.info({ event: 'signed_out', client_id: clientOf(ctx) }, 'signed out'));
}

export async function startDevIdp(config: DevIdpConfig, opts: DevIdpOptions = {}): Promise<DevIdp> {
  const { host, port: wantedPort } = config.address;
  if (!isLoopbackAddress(host)) throw new PosternError(Errors.DEV_IDP_NOT_LOOPBACK, `refusing to listen on ${JSON.stringify(host)}`);
  const logger = opts.logger ?? createLogger('info').child({ component: 'dev-idp' });
  const { default: OidcProvider, errors } = await loadOidcProvider();
  const signingKeys = opts.signingKeys ?? (await loadOrCreateSigningKeys(config.keysFile));
  const accounts = await Accounts.create(config.users);
  const store = new MemoryStore();

  // Requests that arrive before the provider exists (it needs the bound port) are turned away.
  let handle = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(503, { ...PAGE_HEADERS, 'content-security-policy': contentSecurityPolicy() });
    res.end(messagePage('Starting', 'The identity provider is starting; try again.'));
  };
  const server = await listen(host, wantedPort, (req, res) => handle(req, res));
  const port = (server.address() as AddressInfo).port;
  const issuer = config.issuer ?? `http://${urlHost(host)}:${port}`;

  let provider;
  try {
    provider = new OidcProvider(issuer, providerConfiguration({ config, accounts, store, signingKeys, cookieKeys: [randomBytes(32).toString('base64url')] }));
  } catch (err) {
    server.close();
    throw err;
  }
  const rewrite = opts.rewriteTokenResponse;
  if (rewrite !== undefined) {
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.oidc?.route === 'token' && ctx.status === 200 && ctx.body !== null && typeof ctx.body === 'object') {
        ctx.body = await rewrite(ctx.body as TokenResponse);
      }
    });
  }
  subscribeLogs(provider, logger);
  const interactions = createInteractionHandler({ provider, SessionNotFound: errors.SessionNotFound, accounts, throttle: new LoginThrottle(), logger });
  const callback = provider.callback();
  handle = (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (path.startsWith(INTERACTION_PREFIX)) void interactions(req, res, path);
    else void callback(req, res);
  };
  logger.info(
    { event: 'listening', issuer, address: `${urlHost(host)}:${port}`, clients: config.clients.map((c) => c.clientId), users: config.users.length },
    'development identity provider listening',
  );

  return {
    issuer,
    port,
    revokeGrants: (username) => store.revokeGrantsOf(accounts.byUsername(username)?.username ?? username),
    endSessions: (username) => store.endSessionsOf(accounts.byUsername(username)?.username ?? username),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

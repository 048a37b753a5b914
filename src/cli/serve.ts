// `postern serve`: load and validate the configuration, build the proxy,
// listen, reload the configuration on SIGHUP, and drain gracefully on
// SIGTERM/SIGINT.
import { loadConfig } from '../config/load.js';
import type { LoadedConfig } from '../config/types.js';
import { FrontEnd } from '../frontend/server.js';
import { loadUws } from '../frontend/uws.js';
import { Lifecycle } from '../proxy/lifecycle.js';
import { Pipeline } from '../proxy/pipeline.js';
import { buildRouteTable, LiveRoutes } from '../proxy/route-table.js';
import { ConfigReloader, type ReloadOutcome } from '../proxy/reloader.js';
import type { ProxyServices } from '../proxy/services.js';
import { AccessLog } from '../telemetry/access-log.js';
import { AuthorizeLog } from '../telemetry/authorize-log.js';
import { createLogger, flushLogger, type Logger } from '../telemetry/logger.js';
import { UpstreamPools } from '../upstream/pools.js';
import { createAuthentication } from '../authenticate/setup.js';
import { UpstreamIdentity } from '../identity/upstream-identity.js';
import { openDatabroker } from '../databroker/open.js';
import { IDENTITY_MANAGER_LEASE } from '../authenticate/refresher.js';
import { startControlServer, type ControlServer } from '../control/server.js';
import { serviceAccountCommands } from '../control/service-account-commands.js';

/** How long in-flight requests may take to finish after a stop signal. */
export const DRAIN_DEADLINE_MS = 25_000;

export interface RunningProxy {
  readonly port: number;
  readonly host: string;
  readonly logger: Logger;
  /** Stops accepting, waits for in-flight requests (up to the deadline), closes everything. */
  stop(deadlineMs?: number): Promise<{ drained: boolean }>;
  /**
   * Applies a reloaded configuration (SIGHUP): routes and the databroker
   * leader change at once; other changed settings are logged as needing a
   * restart. `load` throwing (an invalid file) changes nothing.
   */
  reload(load: () => LoadedConfig): Promise<ReloadOutcome>;
}

/** Builds and starts the proxy for an already loaded configuration. */
export interface StartOptions {
  /**
   * Keep the valid prefix of a damaged file store instead of refusing to
   * start (`postern serve --recover-databroker`); the damaged tail is moved
   * aside, never deleted. A flag, not a config key, so it cannot stay on.
   */
  readonly recoverDatabroker?: boolean;
}

export async function startProxy(loaded: LoadedConfig, logger?: Logger, options: StartOptions = {}): Promise<RunningProxy> {
  const uws = loadUws();
  const { config, warnings } = loaded;
  const log = logger ?? createLogger(config.logLevel);
  for (const w of warnings) log.warn({ file: w.file, line: w.line, key: w.key }, w.message);

  const lifecycle = new Lifecycle();
  const identity = new UpstreamIdentity(config);
  const services: ProxyServices = {
    config,
    logger: log,
    accessLog: new AccessLog(log, config.xffNumTrustedHops),
    authorizeLog: new AuthorizeLog(log),
    lifecycle,
    identity,
    headerOptions: {
      cookieName: config.cookie.name,
      xffNumTrustedHops: config.xffNumTrustedHops,
      skipXffAppend: config.skipXffAppend,
      claimHeaderNames: identity.claimHeaderNames,
    },
    storageHealth: () => ({ ok: true, detail: '' }),
  };
  const pools = new UpstreamPools(config.certificateAuthority);
  const db = await openDatabroker(config, log, { recoverValidPrefix: options.recoverDatabroker === true });
  services.storageHealth = () => db.health();
  // Requests reach isRouteHost only after `routes` below exists.
  const auth = createAuthentication(
    config,
    db,
    (host) => routes.servesHost(host),
    log,
    (record, status, details) => services.accessLog.finish(record, status, details),
  );
  const providers = auth?.providers ?? null;
  const routes = new LiveRoutes(buildRouteTable(config.routes, { pools, passIdentityHeaders: config.passIdentityHeaders, providers }));
  const reloader = new ConfigReloader({ config, routes, pools, providers, db, logger: log });
  // Only the instance holding the lease refreshes sessions.
  auth?.refresher.start({ lease: db.lease(IDENTITY_MANAGER_LEASE) });
  const control = auth ? await openControlSocket(config.controlSocket, serviceAccountCommands(auth.serviceAccounts, log), log) : null;
  const pipeline = new Pipeline(services, routes, auth);
  const frontEnd = new FrontEnd(uws, services, pipeline);
  let listening: Awaited<ReturnType<FrontEnd['listen']>>;
  try {
    listening = await frontEnd.listen();
  } catch (err) {
    // The file store locks its directory and the refresher holds a lease: hand both back.
    await control?.close();
    await auth?.refresher.stop();
    await db.close();
    throw err;
  }
  log.info(
    { address: listening.host, port: listening.port, tls: !config.insecureServer, routes: config.routes.length },
    'listening',
  );

  let stopping: Promise<{ drained: boolean }> | null = null;
  return {
    port: listening.port,
    host: listening.host,
    logger: log,
    reload(load) {
      return reloader.reload(load);
    },
    stop(deadlineMs = DRAIN_DEADLINE_MS) {
      stopping ??= (async () => {
        lifecycle.draining = true;
        frontEnd.stopAccepting();
        log.info({ inflight: lifecycle.inflight, deadline_ms: deadlineMs }, 'draining');
        const drained = await lifecycle.whenIdle(deadlineMs);
        frontEnd.close();
        await control?.close();
        await auth?.refresher.stop();
        await pools.close();
        await db.close();
        log.info({ drained }, 'stopped');
        await flushLogger(log);
        return { drained };
      })();
      return stopping;
    },
  };
}

/**
 * The management channel is a convenience, not the service: when its socket
 * cannot be opened (a directory other users can write to, say) the proxy
 * still runs, and says loudly why `postern service-account` will not reach it.
 */
async function openControlSocket(path: string, handlers: Parameters<typeof startControlServer>[1], log: Logger): Promise<ControlServer | null> {
  try {
    return await startControlServer(path, handlers, log);
  } catch (err) {
    log.error({ path, error: err instanceof Error ? err.message : String(err) }, 'control socket unavailable; postern service-account cannot reach this proxy');
    return null;
  }
}

/** Runs until a stop signal; resolves with the exit code. */
export async function serve(configFile: string, options: StartOptions = {}): Promise<number> {
  // Refuse to start on the JavaScript fallback before reading anything else.
  loadUws();
  // SIGHUP's default action ends the process: a reload asked for while the
  // proxy is still starting (systemd can send one at any time after start)
  // is remembered instead, and done once it listens.
  let reloadAskedEarly = false;
  const rememberReload = (): void => {
    reloadAskedEarly = true;
  };
  process.on('SIGHUP', rememberReload);
  const loaded = loadConfig(configFile, process.env);
  let proxy: RunningProxy;
  try {
    proxy = await startProxy(loaded, undefined, options);
  } finally {
    process.off('SIGHUP', rememberReload);
  }
  return new Promise((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        // A second signal means "now": give up on the drain.
        proxy.logger.warn({ signal }, 'second stop signal, exiting without draining');
        void flushLogger(proxy.logger).then(() => resolve(1));
        return;
      }
      signalled = true;
      proxy.logger.info({ signal }, 'stop signal received');
      void proxy.stop().then(() => resolve(0));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // systemd's ExecReload and `docker kill -s HUP`: read the file again.
    const onReload = (): void => {
      if (signalled) return;
      proxy.logger.info({ file: configFile }, 'reload signal received');
      void proxy.reload(() => loadConfig(configFile, process.env));
    };
    process.on('SIGHUP', onReload);
    if (reloadAskedEarly) onReload();
  });
}

// Applies a configuration reload to a running proxy: new routes are built
// beside the old ones and swapped in at once, pools no route names any more
// are retired, and a new databroker leader is handed to the peer group.
// A configuration that does not load changes nothing. Reloads run one at a
// time, in the order they were asked for.
import { ConfigError } from '../errors.js';
import { configAfterReload, planReload, type ReloadPlan } from '../config/reloadable.js';
import type { Config, LoadedConfig } from '../config/types.js';
import type { IdentityProviders } from '../authenticate/identity-providers.js';
import type { PeerBackend } from '../databroker/peers/index.js';
import type { Replica } from '../databroker/replica.js';
import type { Logger } from '../telemetry/logger.js';
import type { UpstreamPools } from '../upstream/pools.js';
import { buildRouteTable, type LiveRoutes } from './route-table.js';

export interface ReloadOutcome {
  /** false when the new configuration did not load or its routes were refused (nothing changed then). */
  readonly applied: boolean;
  readonly routes: number;
  readonly plan: ReloadPlan | null;
  /** Why nothing changed, or why the leader change failed. */
  readonly problem: string | null;
}

export interface ReloaderOptions {
  readonly config: Config;
  readonly routes: LiveRoutes;
  readonly pools: UpstreamPools;
  readonly providers: IdentityProviders | null;
  readonly db: Replica;
  readonly logger: Logger;
}

export class ConfigReloader {
  readonly #o: ReloaderOptions;
  /** The configuration in force: the start's settings with the routes and leader of the last reload. */
  #inForce: Config;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: ReloaderOptions) {
    this.#o = options;
    this.#inForce = options.config;
  }

  /** `load` reads and validates the configuration again (it throws a ConfigError when it is invalid). */
  reload(load: () => LoadedConfig): Promise<ReloadOutcome> {
    const run = this.#queue.then(() => this.#reload(load));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #reload(load: () => LoadedConfig): Promise<ReloadOutcome> {
    const log = this.#o.logger;
    let loaded: LoadedConfig;
    try {
      loaded = load();
    } catch (err) {
      if (err instanceof ConfigError) {
        for (const p of err.problems) log.error({ file: p.file, line: p.line, key: p.key }, `configuration reload refused: ${p.message}`);
      } else {
        log.error({ err }, 'configuration reload refused');
      }
      const problem = err instanceof Error ? err.message : String(err);
      return { applied: false, routes: this.#inForce.routes.length, plan: null, problem };
    }
    for (const w of loaded.warnings) log.warn({ file: w.file, line: w.line, key: w.key }, w.message);
    const next = loaded.config;
    const plan = planReload(this.#inForce, next, this.#o.providers !== null);
    if (plan.refused !== null) {
      log.error({ file: next.file }, `configuration reload refused: ${plan.refused}`);
      return { applied: false, routes: this.#inForce.routes.length, plan, problem: plan.refused };
    }
    if (plan.restartRequired.length > 0) {
      log.warn({ keys: plan.restartRequired }, 'configuration reload: these settings changed and take effect only after a restart');
    }
    if (plan.routesChanged) {
      const table = buildRouteTable(next.routes, { pools: this.#o.pools, passIdentityHeaders: this.#inForce.passIdentityHeaders, providers: this.#o.providers });
      this.#o.routes.replace(table);
      this.#o.pools.retainOnly(table.runtimes.flatMap((rt) => rt.pools));
    }
    this.#inForce = configAfterReload(this.#inForce, next, plan);
    let problem: string | null = null;
    if (plan.leaderId !== null) problem = await this.#changeLeader(plan.leaderId);
    log.info(
      { routes: this.#inForce.routes.length, routesChanged: plan.routesChanged, leader: plan.leaderId ?? undefined, restartRequired: plan.restartRequired.length },
      'configuration reloaded',
    );
    return { applied: true, routes: this.#inForce.routes.length, plan, problem };
  }

  /** null when the new leader is in effect; otherwise why not (also in /healthz, from the peer group). */
  async #changeLeader(leaderId: string): Promise<string | null> {
    const storage = this.#o.db.storage as Partial<PeerBackend>;
    if (typeof storage.reconfigure !== 'function') return 'the databroker is not a peer group';
    try {
      await storage.reconfigure({ leaderId });
      this.#o.logger.info({ leader: leaderId }, 'databroker leader changed by configuration reload');
      return null;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#o.logger.error({ leader: leaderId, err }, 'databroker leader change failed');
      return message;
    }
  }
}

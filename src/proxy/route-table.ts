// The routes in force: the router and each route's runtime, built together
// from one configuration and replaced together by a reload, so a request
// sees either the old routes or the new ones, never a mix.
import type { Route } from '../config/types.js';
import type { IdentityProviders } from '../authenticate/identity-providers.js';
import type { UpstreamPools } from '../upstream/pools.js';
import { buildRouteRuntimes, type RouteRuntime } from '../upstream/route-runtime.js';
import { Router } from './router.js';

export interface RouteTable {
  readonly router: Router;
  /** By route index. */
  readonly runtimes: readonly RouteRuntime[];
}

export interface RouteTableOptions {
  readonly pools: UpstreamPools;
  /** The global pass_identity_headers. */
  readonly passIdentityHeaders: boolean;
  /** null without authentication (every route is public). */
  readonly providers: IdentityProviders | null;
}

export function buildRouteTable(routes: readonly Route[], options: RouteTableOptions): RouteTable {
  const { providers } = options;
  return {
    router: new Router(routes),
    runtimes: buildRouteRuntimes(routes, options.pools, {
      passIdentityHeaders: options.passIdentityHeaders,
      ...(providers === null ? {} : { idpIdOf: (route: Route) => providers.forRoute(route).id }),
    }),
  };
}

/** The table requests are routed with; a reload swaps it in one assignment. */
export class LiveRoutes {
  #table: RouteTable;

  constructor(table: RouteTable) {
    this.#table = table;
  }

  get table(): RouteTable {
    return this.#table;
  }

  replace(table: RouteTable): void {
    this.#table = table;
  }

  servesHost(host: string): boolean {
    return this.#table.router.servesHost(host);
  }
}

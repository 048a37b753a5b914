// What forwarding needs per route, built once per configuration: the pools
// of its targets and its balancer.
import type { Pool } from 'undici';
import type { Route } from '../config/types.js';
import { createBalancer, type Balancer } from './balancer.js';
import type { UpstreamPools } from './pools.js';

export interface RouteRuntime {
  readonly route: Route;
  readonly pools: readonly Pool[];
  readonly balancer: Balancer;
}

export function buildRouteRuntimes(routes: readonly Route[], pools: UpstreamPools): RouteRuntime[] {
  return routes.map((route) => ({
    route,
    pools: pools.pools(route),
    balancer: createBalancer(route.to, route.loadBalancingPolicy),
  }));
}

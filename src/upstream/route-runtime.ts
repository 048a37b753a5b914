// What a request needs per route, worked out once per configuration (at
// start and at every reload): the pools of its targets and its balancer,
// its compiled policy, its identity plan and the identity provider that
// signs its users in.
import type { Route } from '../config/types.js';
import type { CompiledPolicy } from '../authorize/ppl/compile.js';
import { compileRoutePolicy } from '../authorize/route-policy.js';
import { planRoute, type RouteIdentityPlan } from '../identity/upstream-identity.js';
import { createBalancer, type Balancer } from './balancer.js';
import type { UpstreamPools } from './pools.js';
import type { Http1Pool } from './http1/index.js';

export interface RouteRuntime {
  readonly route: Route;
  readonly pools: readonly Http1Pool[];
  readonly balancer: Balancer;
  /** The route's PPL and legacy access options, compiled. */
  readonly policy: CompiledPolicy;
  /** Whether identity headers pass, and the compiled set_request_headers templates. */
  readonly identityPlan: RouteIdentityPlan;
  /** The id of the provider (client) this route's users sign in with; '' without authentication. */
  readonly idpId: string;
}

export interface RouteRuntimeOptions {
  /** The global pass_identity_headers, for routes that do not set their own. */
  readonly passIdentityHeaders: boolean;
  /** The provider id of a route (its own idp_client_id or the global one); absent without authentication. */
  readonly idpIdOf?: (route: Route) => string;
}

export function buildRouteRuntimes(routes: readonly Route[], pools: UpstreamPools, options: RouteRuntimeOptions): RouteRuntime[] {
  return routes.map((route) => ({
    route,
    pools: pools.pools(route),
    balancer: createBalancer(route.to, route.loadBalancingPolicy),
    policy: compileRoutePolicy(route.access),
    identityPlan: planRoute(route, options.passIdentityHeaders),
    idpId: options.idpIdOf?.(route) ?? '',
  }));
}

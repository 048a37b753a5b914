// What a configuration reload (SIGHUP) can change in a running proxy: the
// routes (`policy`/`routes`, with everything inside them) and
// `databroker_cluster_leader_id` (promoting a follower). Every other setting
// is read once at start (listeners, keys, the session store, the identity
// provider), so a change to it is reported as needing a restart rather than
// half-applied. A pure function of the two configurations, so it is tested
// with tables.
import { isDeepStrictEqual } from 'node:util';
import type { Config, DatabrokerOptions, Route } from './types.js';

/**
 * The keys each setting comes from, for messages (and so a new setting
 * cannot go unclassified); null for a setting that only gives routes their
 * defaults, which a reload applies with the routes.
 */
const SETTING_KEYS: { readonly [K in Exclude<keyof Config, 'routes' | 'databroker'>]: string | null } = {
  file: 'the configuration file',
  address: 'address',
  insecureServer: 'insecure_server',
  defaultCertificate: 'certificate / certificate_file',
  certificates: 'certificates',
  sharedSecret: 'shared_secret',
  sharedSecretGenerated: 'shared_secret',
  cookie: 'cookie_*',
  logLevel: 'log_level',
  timeoutReadMs: 'timeout_read',
  timeoutWriteMs: 'timeout_write',
  timeoutIdleMs: 'timeout_idle',
  defaultUpstreamTimeoutMs: null,
  xffNumTrustedHops: 'xff_num_trusted_hops',
  skipXffAppend: 'skip_xff_append',
  // Routes take the new headers at once; Postern's own pages (errors, sign-in) after a restart.
  setResponseHeaders: 'set_response_headers (on Postern\'s own pages)',
  authenticateServiceUrl: 'authenticate_service_url',
  signoutRedirectUrl: 'signout_redirect_url',
  idp: 'idp_*',
  certificateAuthority: 'certificate_authority',
  passIdentityHeaders: 'pass_identity_headers',
  signingKeys: 'signing_key',
  jwtClaimsHeaders: 'jwt_claims_headers',
  jwtIssuerFormat: 'jwt_issuer_format',
  programmaticRedirectDomains: 'programmatic_redirect_domain_whitelist',
  controlSocket: 'control_socket',
};

export interface ReloadPlan {
  /** The new configuration's routes differ from those in force. */
  readonly routesChanged: boolean;
  /** The new databroker_cluster_leader_id, when it differs from the one in force; else null. */
  readonly leaderId: string | null;
  /** Keys that changed but take effect only after a restart (each named once). */
  readonly restartRequired: readonly string[];
  /** Why the new routes cannot be applied at all (the reload changes nothing then); null when they can. */
  readonly refused: string | null;
}

/**
 * `inForce`: the configuration the proxy runs with (the start's settings,
 * with the routes and leader of the last applied reload). `authentication`:
 * whether the proxy started with an authenticate service, which routes that
 * are not public need.
 */
export function planReload(inForce: Config, next: Config, authentication: boolean): ReloadPlan {
  const restartRequired = new Set<string>();
  for (const field of Object.keys(SETTING_KEYS) as (keyof typeof SETTING_KEYS)[]) {
    const key = SETTING_KEYS[field];
    if (key !== null && !isDeepStrictEqual(comparable(inForce, field), comparable(next, field))) restartRequired.add(key);
  }
  for (const key of databrokerRestartKeys(inForce.databroker, next.databroker)) restartRequired.add(key);

  const before = inForce.databroker.cluster;
  const after = next.databroker.cluster;
  const leaderId = before !== null && after !== null && after.leaderId !== before.leaderId ? after.leaderId : null;

  // Where a route sits in the file is not part of what it does.
  const routesChanged = !isDeepStrictEqual(inForce.routes.map(withoutLocation), next.routes.map(withoutLocation));
  const needsSignIn = next.routes.find((route) => !route.access.allowPublicUnauthenticatedAccess);
  const refused =
    routesChanged && !authentication && needsSignIn !== undefined
      ? `the route at ${needsSignIn.location} needs sign-in, and this proxy started without an authenticate service: restart it with the new configuration`
      : null;
  return { routesChanged: routesChanged && refused === null, leaderId, restartRequired: [...restartRequired], refused };
}

/** A setting as compared: generated secrets are new at every load, so only a change to or from one counts. */
function comparable(config: Config, field: keyof typeof SETTING_KEYS): unknown {
  if (field === 'sharedSecret' && config.sharedSecretGenerated) return 'generated';
  if (field === 'cookie' && config.cookie.secretGenerated) return { ...config.cookie, secret: 'generated' };
  return config[field];
}

function withoutLocation(route: Route): Omit<Route, 'location'> {
  const { location: _, ...rest } = route;
  return rest;
}

function databrokerRestartKeys(a: DatabrokerOptions, b: DatabrokerOptions): string[] {
  const keys: string[] = [];
  if (!isDeepStrictEqual(a.storage, b.storage)) keys.push('databroker_storage_type / databroker_storage_connection_string');
  if (!isDeepStrictEqual(a.encryptionKeys, b.encryptionKeys)) keys.push('databroker_encryption_key');
  const clusterA = a.cluster === null ? null : { ...a.cluster, leaderId: '' };
  const clusterB = b.cluster === null ? null : { ...b.cluster, leaderId: '' };
  if (!isDeepStrictEqual(clusterA, clusterB)) keys.push('databroker_cluster_* (other than databroker_cluster_leader_id)');
  return keys;
}

/** The configuration in force after applying `plan` of `next` over `inForce`. */
export function configAfterReload(inForce: Config, next: Config, plan: ReloadPlan): Config {
  const cluster = inForce.databroker.cluster;
  return {
    ...inForce,
    routes: plan.routesChanged ? next.routes : inForce.routes,
    databroker:
      plan.leaderId === null || cluster === null ? inForce.databroker : { ...inForce.databroker, cluster: { ...cluster, leaderId: plan.leaderId } },
  };
}

// The long-lived objects every request handler shares, built once at start.
import type { Config } from '../config/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { AccessLog } from '../telemetry/access-log.js';
import type { AuthorizeLog } from '../telemetry/authorize-log.js';
import type { Lifecycle } from './lifecycle.js';
import type { UpstreamIdentity } from '../identity/upstream-identity.js';
import type { UpstreamHeaderOptions } from '../upstream/request-headers.js';

export interface ProxyServices {
  readonly config: Config;
  readonly logger: Logger;
  readonly accessLog: AccessLog;
  readonly authorizeLog: AuthorizeLog;
  readonly lifecycle: Lifecycle;
  /** Signing keys, the assertion cache and each route's identity plan. */
  readonly identity: UpstreamIdentity;
  /** The configuration's options for building upstream request headers, built once. */
  readonly headerOptions: UpstreamHeaderOptions;
  /** The session store's health (a follower cut off from its leader, Postgres gone), for /healthz. */
  storageHealth: () => { readonly ok: boolean; readonly detail: string };
}

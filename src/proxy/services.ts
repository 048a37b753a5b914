// The long-lived objects every request handler shares, built once at start.
import type { Config } from '../config/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { AccessLog } from '../telemetry/access-log.js';
import type { Lifecycle } from './lifecycle.js';

export interface ProxyServices {
  readonly config: Config;
  readonly logger: Logger;
  readonly accessLog: AccessLog;
  readonly lifecycle: Lifecycle;
}

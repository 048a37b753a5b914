// Builds authentication from the configuration: keys, the identity
// provider, sessions and their credentials, the authenticate service and
// the refresher. Without routes that need sign-in there is nothing to build
// (the configuration guarantees the settings exist when there are).
import type { Config } from '../config/types.js';
import type { Databroker } from '../databroker/types.js';
import type { AccessRecord } from '../telemetry/access-log.js';
import type { Logger } from '../telemetry/logger.js';
import { CredentialResolver } from './credentials.js';
import { IdentityProviders } from './identity-providers.js';
import { AuthKeys } from './keys.js';
import { SessionRefresher } from './refresher.js';
import { AuthenticateService } from './service.js';
import { ServiceAccounts } from './service-accounts.js';
import { SessionHandles } from './session-handle.js';
import { SessionJwts } from './session-jwt.js';
import { Sessions } from './sessions.js';

export interface Authentication {
  readonly service: AuthenticateService;
  readonly credentials: CredentialResolver;
  readonly serviceAccounts: ServiceAccounts;
  readonly providers: IdentityProviders;
  readonly refresher: SessionRefresher;
}

export function createAuthentication(
  config: Config,
  db: Databroker,
  /** Whether a host is served by some route of the configuration in force (it changes with reloads). */
  isRouteHost: (host: string) => boolean,
  logger: Logger,
  onRequestDone: (record: AccessRecord, status: number, details: string) => void,
): Authentication | null {
  if (config.authenticateServiceUrl === null || config.idp.providerUrl === '') return null;
  const keys = new AuthKeys(config.sharedSecret, config.cookie.secret);
  // A route's own idp_client_id is another client at the same provider.
  const providers = new IdentityProviders(config.idp, new URL('/oauth2/callback', config.authenticateServiceUrl).toString());
  const sessions = new Sessions(db, config.cookie.expireMs);
  const handles = new SessionHandles(keys.sessionHandle);
  const jwts = new SessionJwts(keys.sessionJwt);
  const serviceAccounts = new ServiceAccounts(db, keys.serviceAccountPepper);
  const credentials = new CredentialResolver(config.cookie.name, handles, jwts, sessions, serviceAccounts);
  const service = new AuthenticateService({
    config,
    keys,
    providers,
    sessions,
    handles,
    jwts,
    credentials,
    isRouteHost,
    logger,
    onRequestDone,
  });
  return { service, credentials, serviceAccounts, providers, refresher: new SessionRefresher(sessions, providers, logger) };
}

// One authorization line per decision, with Pomerium's field names
// (reference §9: "authorize check"), so that every allow and deny can be
// explained afterwards: which reasons held, for whom, on which request.
import type { Identity } from '../authenticate/sessions.js';
import type { PolicyResult } from '../authorize/ppl/compile.js';
import type { ProxyRequest } from '../proxy/request.js';
import type { Logger } from './logger.js';

export class AuthorizeLog {
  readonly #logger: Logger;
  readonly enabled: boolean;

  constructor(logger: Logger) {
    this.#logger = logger;
    // Decided once, like the access log: a disabled log costs nothing per request.
    this.enabled = logger.isLevelEnabled('info');
  }

  write(req: ProxyRequest, ip: string, routeName: string, identity: Identity | null, result: PolicyResult): void {
    if (!this.enabled) return;
    this.#logger.info(
      {
        'request-id': req.requestId,
        method: req.method,
        path: req.path,
        host: req.host,
        ip,
        'route-name': routeName,
        'session-id': identity?.kind === 'session' ? identity.sessionId : '',
        'service-account-id': identity?.kind === 'service_account' ? identity.sessionId : '',
        user: identity?.userId ?? '',
        email: identity?.email ?? '',
        allow: result.allow,
        [result.allow ? 'allow-why-true' : 'allow-why-false']: result.allowReasons,
        deny: result.deny,
        [result.deny ? 'deny-why-true' : 'deny-why-false']: result.denyReasons,
      },
      'authorize check',
    );
  }
}

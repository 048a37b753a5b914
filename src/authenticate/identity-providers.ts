// Every identity provider configuration in use: the global one and any a
// route brings with its own idp_client_id/idp_client_secret. Each has its
// own id, and a session is valid only on routes of the provider that made it
// (Pomerium: "these change the IdP ID, so the route needs its own session").
import type { Config, IdpOptions, Route } from '../config/types.js';
import { IdentityProvider, identityProviderId } from './identity-provider.js';

export class IdentityProviders {
  readonly #byId = new Map<string, IdentityProvider>();
  readonly #byRoute: IdentityProvider[] = [];
  readonly default: IdentityProvider;

  /** `optionsFor` gives a route's provider options (its overrides merged over the global ones). */
  constructor(config: Config, redirectUri: string, optionsFor: (route: Route) => IdpOptions = () => config.idp) {
    this.default = this.#provider(config.idp, redirectUri);
    for (const route of config.routes) this.#byRoute[route.index] = this.#provider(optionsFor(route), redirectUri);
  }

  forRoute(route: Route): IdentityProvider {
    return this.#byRoute[route.index] ?? this.default;
  }

  byId(id: string): IdentityProvider | undefined {
    return this.#byId.get(id);
  }

  #provider(options: IdpOptions, redirectUri: string): IdentityProvider {
    const id = identityProviderId(options);
    let provider = this.#byId.get(id);
    if (provider === undefined) {
      provider = new IdentityProvider(options, redirectUri);
      this.#byId.set(id, provider);
    }
    return provider;
  }
}

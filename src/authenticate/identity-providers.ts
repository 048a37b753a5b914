// Every identity provider configuration in use: the global one and any a
// route brings with its own idp_client_id/idp_client_secret. Each has its
// own id, and a session is valid only on routes of the provider that made it
// (Pomerium: "these change the IdP ID, so the route needs its own session").
// Providers are only ever added: after a reload drops a route, sessions its
// provider made can still be refreshed and signed out.
import type { IdpOptions, Route } from '../config/types.js';
import { IdentityProvider, identityProviderId } from './identity-provider.js';

export class IdentityProviders {
  readonly #byId = new Map<string, IdentityProvider>();
  readonly #global: IdpOptions;
  readonly #redirectUri: string;
  readonly default: IdentityProvider;

  constructor(global: IdpOptions, redirectUri: string) {
    this.#global = global;
    this.#redirectUri = redirectUri;
    this.default = this.#provider(global);
  }

  /** The provider a route signs in with: its own client (merged over the global options) or the global one. */
  forRoute(route: Route): IdentityProvider {
    return route.idpClient === null ? this.default : this.#provider({ ...this.#global, ...route.idpClient });
  }

  byId(id: string): IdentityProvider | undefined {
    return this.#byId.get(id);
  }

  #provider(options: IdpOptions): IdentityProvider {
    const id = identityProviderId(options);
    let provider = this.#byId.get(id);
    if (provider === undefined) {
      provider = new IdentityProvider(options, this.#redirectUri);
      this.#byId.set(id, provider);
    }
    return provider;
  }
}

// The oidc-provider configuration of the dev IdP. What it allows is what
// Postern needs from a provider, and nothing else:
// - authorization code flow only, PKCE (S256, the only method oidc-provider 9
//   knows) required of every client, redirect_uri always named;
// - a refresh token with every code exchange (bound to the provider's
//   session unless `offline_access` was granted);
// - ID tokens that carry the scope's claims (email, email_verified, name,
//   groups), not only `sub`, since Postern reads identity from the ID token;
// - RP-initiated logout; userinfo;
// - our own sign-in pages (src/devidp/interactions.ts), never the dev
//   interactions bundled with oidc-provider.
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { JWK } from 'jose';
import { accountClaims, type Accounts, SCOPE_CLAIMS } from './accounts.js';
import { SIGNING_ALGORITHM } from './keys.js';
import { AUTO_SIGN_OUT_SCRIPT, contentSecurityPolicy, logoutPage, messagePage } from './pages.js';
import type { MemoryStore } from './store.js';
import type { DevIdpClient, DevIdpConfig } from './types.js';

/** How long a sign-in at the provider lasts (its session cookie), and so how long it answers without asking again. */
const SESSION_TTL_SECONDS = 12 * 60 * 60;
/** How long the sign-in page of one authorization request stays usable. */
const INTERACTION_TTL_SECONDS = 10 * 60;
const AUTHORIZATION_CODE_TTL_SECONDS = 60;

export interface ProviderParts {
  readonly config: DevIdpConfig;
  readonly accounts: Accounts;
  readonly store: MemoryStore;
  readonly signingKeys: readonly JWK[];
  /** Keys that sign the provider's cookies. */
  readonly cookieKeys: readonly string[];
}

function clientMetadata(client: DevIdpClient): NonNullable<Configuration['clients']>[number] {
  return {
    client_id: client.clientId,
    client_secret: client.clientSecret,
    redirect_uris: [...client.redirectUris],
    post_logout_redirect_uris: [...client.postLogoutRedirectUris],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // oidc-provider accepts the secret in Basic auth or in the body from any client registered with either.
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: SIGNING_ALGORITHM,
  };
}

function sendPage(ctx: KoaContextWithOIDC, html: string, script?: string): void {
  ctx.type = 'html';
  ctx.set('content-security-policy', contentSecurityPolicy(script));
  ctx.set('x-frame-options', 'DENY');
  ctx.body = html;
}

/**
 * The sign-out confirmation. When the request proves it comes from the
 * signed-in user's client (an ID token hint for the session's own account,
 * already validated by oidc-provider), the page confirms by itself; otherwise
 * the user chooses.
 */
function logoutSource(ctx: KoaContextWithOIDC, form: string): void {
  const hint = ctx.oidc.entities.IdTokenHint;
  const accountId = ctx.oidc.session?.accountId;
  const autoSubmit = hint !== undefined && accountId !== undefined && hint.payload.sub === accountId;
  sendPage(ctx, logoutPage(form, autoSubmit), autoSubmit ? AUTO_SIGN_OUT_SCRIPT : undefined);
}

export function providerConfiguration(parts: ProviderParts): Configuration {
  const { config, accounts, store } = parts;
  return {
    adapter: (model: string) => store.adapter(model),
    clients: config.clients.map(clientMetadata),
    jwks: { keys: parts.signingKeys.map((key) => ({ ...key })) },
    cookies: { keys: [...parts.cookieKeys] },
    findAccount: (_ctx, sub) => {
      const user = accounts.find(sub);
      return user === undefined ? undefined : { accountId: sub, claims: () => accountClaims(user) };
    },
    claims: { openid: [...SCOPE_CLAIMS.openid], email: [...SCOPE_CLAIMS.email], profile: [...SCOPE_CLAIMS.profile], groups: [...SCOPE_CLAIMS.groups] },
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: () => true },
    allowOmittingSingleRegisteredRedirectUri: false,
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Browsers never call the token or userinfo endpoints of this provider directly.
    clientBasedCORS: () => false,
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource,
        postLogoutSuccessSource: (ctx) => sendPage(ctx, messagePage('Signed out', 'You are signed out of the development identity provider.')),
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: config.accessTokenTtlSeconds,
      IdToken: config.idTokenTtlSeconds,
      RefreshToken: config.refreshTokenTtlSeconds,
      AuthorizationCode: AUTHORIZATION_CODE_TTL_SECONDS,
      Interaction: INTERACTION_TTL_SECONDS,
      Session: SESSION_TTL_SECONDS,
      // A grant outlives every token issued under it.
      Grant: Math.max(config.refreshTokenTtlSeconds, SESSION_TTL_SECONDS),
    },
    renderError: (ctx, out) => {
      const description = typeof out.error_description === 'string' ? out.error_description : '';
      sendPage(ctx, messagePage('Sign-in error', description === '' ? String(out.error) : `${String(out.error)}: ${description}`));
    },
  };
}

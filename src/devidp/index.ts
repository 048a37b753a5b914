// The development identity provider: `postern dev-idp`, the demo's sign-in,
// and the real OpenID provider of the integration tests.
export { loadDevIdpConfig } from './config.js';
export { hashPassword } from './password.js';
export { startDevIdp, type DevIdp, type DevIdpOptions, type TokenResponse } from './server.js';
export type { DevIdpClient, DevIdpConfig, DevIdpUser } from './types.js';

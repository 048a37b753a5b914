// The dev IdP's own interaction endpoints, in place of oidc-provider's dev
// interactions:
//   GET  /interaction/<uid>        the sign-in form (prompt `login`), or, for
//                                  prompt `consent`, consent granted at once:
//                                  every client is one we configured;
//   POST /interaction/<uid>/login  checks the password (argon2id), slowed per
//                                  username after failures.
// Cross-site requests are refused by oidc-provider's interaction cookie
// (signed, SameSite=Lax, scoped to /interaction/<uid>): without it
// interactionDetails finds no interaction and the answer is 400.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type Provider from 'oidc-provider';
import type { Interaction } from 'oidc-provider';
import type { Logger } from '../telemetry/logger.js';
import type { Accounts } from './accounts.js';
import { contentSecurityPolicy, loginPage, messagePage, PAGE_HEADERS } from './pages.js';
import type { LoginThrottle } from './throttle.js';
import { loginKey } from './users.js';

export const INTERACTION_PREFIX = '/interaction/';
/** A sign-in form is two short fields; anything larger is not one. */
const FORM_LIMIT_BYTES = 8 * 1024;
const WRONG_CREDENTIALS = 'Wrong username or password.';
const EXPIRED = 'This sign-in attempt is unknown or has expired. Go back to the application and sign in again.';

export interface InteractionParts {
  readonly provider: Provider;
  /** oidc-provider's SessionNotFound: a missing or expired interaction, not a server fault. */
  readonly SessionNotFound: new (...args: never[]) => Error;
  readonly accounts: Accounts;
  readonly throttle: LoginThrottle;
  readonly logger: Logger;
}

/** `/interaction/<uid>` or `/interaction/<uid>/login` split into uid and action; null for any other path. */
export function parseInteractionPath(path: string): { uid: string; action: 'page' | 'login' } | null {
  if (!path.startsWith(INTERACTION_PREFIX)) return null;
  const rest = path.slice(INTERACTION_PREFIX.length);
  const slash = rest.indexOf('/');
  const uid = slash < 0 ? rest : rest.slice(0, slash);
  const action = slash < 0 ? 'page' : rest.slice(slash) === '/login' ? 'login' : null;
  if (action === null || uid === '' || !/^[A-Za-z0-9_-]+$/.test(uid)) return null;
  return { uid, action };
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { ...PAGE_HEADERS, 'content-security-policy': contentSecurityPolicy() });
  res.end(html);
}

/** The urlencoded body, or null when it is not a form or is too large (the body is read to the end either way). */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= FORM_LIMIT_BYTES) chunks.push(chunk);
  }
  if (type !== 'application/x-www-form-urlencoded' || size > FORM_LIMIT_BYTES) return null;
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** A field sent exactly once, or null. */
function single(form: URLSearchParams, name: string): string | null {
  const values = form.getAll(name);
  return values.length === 1 ? values[0]! : null;
}

export function createInteractionHandler(parts: InteractionParts): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> {
  const { provider, accounts, throttle, logger } = parts;

  /** Consent for one of our own clients: grant what the request asked for. */
  async function grantConsent(req: IncomingMessage, res: ServerResponse, interaction: Interaction): Promise<void> {
    const { details } = interaction.prompt;
    const accountId = interaction.session?.accountId;
    const clientId = String(interaction.params.client_id);
    const existing = interaction.grantId === undefined ? undefined : await provider.Grant.find(interaction.grantId);
    const grant = existing ?? new provider.Grant({ accountId, clientId });
    if (Array.isArray(details.missingOIDCScope)) grant.addOIDCScope((details.missingOIDCScope as string[]).join(' '));
    if (Array.isArray(details.missingOIDCClaims)) grant.addOIDCClaims(details.missingOIDCClaims as string[]);
    const resources = details.missingResourceScopes;
    if (resources !== null && typeof resources === 'object') {
      for (const [indicator, scopes] of Object.entries(resources as Record<string, string[]>)) grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  async function showPage(req: IncomingMessage, res: ServerResponse, interaction: Interaction): Promise<void> {
    if (interaction.prompt.name === 'consent') return grantConsent(req, res, interaction);
    if (interaction.prompt.name !== 'login') {
      send(res, 400, messagePage('Sign-in error', `unsupported prompt ${interaction.prompt.name}`));
      return;
    }
    const hint = interaction.params.login_hint;
    const username = typeof hint === 'string' ? hint : '';
    send(res, 200, loginPage({ uid: interaction.uid, clientId: String(interaction.params.client_id), username, error: null }));
  }

  async function login(req: IncomingMessage, res: ServerResponse, interaction: Interaction): Promise<void> {
    const form = await readForm(req);
    const page = (status: number, username: string, error: string): void =>
      send(res, status, loginPage({ uid: interaction.uid, clientId: String(interaction.params.client_id), username, error }));
    if (interaction.prompt.name !== 'login') {
      send(res, 400, messagePage('Sign-in error', EXPIRED));
      return;
    }
    const username = form === null ? null : single(form, 'username');
    const password = form === null ? null : single(form, 'password');
    if (username === null || password === null || username === '' || password === '') {
      page(400, username ?? '', 'Enter your username and password.');
      return;
    }
    const key = loginKey(username);
    const delay = throttle.delayMs(key);
    if (delay > 0) await sleep(delay);
    const user = await accounts.authenticate(username, password);
    const clientId = String(interaction.params.client_id);
    if (user === null) {
      throttle.recordFailure(key);
      // The typed username is logged only when it names a user: people type passwords into the wrong field.
      logger.warn({ event: 'login_failed', client_id: clientId, username: accounts.byUsername(username)?.username ?? null, delay_ms: delay }, 'sign-in refused');
      page(401, username, WRONG_CREDENTIALS);
      return;
    }
    throttle.recordSuccess(key);
    logger.info({ event: 'login', client_id: clientId, username: user.username }, 'signed in');
    await provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
  }

  return async (req, res, path) => {
    const route = parseInteractionPath(path);
    const method = req.method ?? '';
    if (route === null) {
      send(res, 404, messagePage('Not found', 'There is no such page.'));
      return;
    }
    const allowed = route.action === 'page' ? 'GET' : 'POST';
    if (method !== allowed) {
      res.setHeader('allow', allowed);
      send(res, 405, messagePage('Method not allowed', `Use ${allowed}.`));
      return;
    }
    try {
      const interaction = await provider.interactionDetails(req, res);
      if (interaction.uid !== route.uid) {
        send(res, 400, messagePage('Sign-in error', EXPIRED));
        return;
      }
      if (route.action === 'page') await showPage(req, res, interaction);
      else await login(req, res, interaction);
    } catch (err) {
      if (err instanceof parts.SessionNotFound) {
        send(res, 400, messagePage('Sign-in error', EXPIRED));
        return;
      }
      logger.error({ err, path }, 'interaction failed');
      if (!res.headersSent) send(res, 500, messagePage('Sign-in error', 'Something went wrong; see the provider’s log.'));
      else res.destroy();
    }
  };
}

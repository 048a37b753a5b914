// The control commands that manage service accounts: argument checks at the
// edge, then ServiceAccounts. Every change is logged (never the token), so
// the proxy's own log says who could act as whom and since when.
import { Errors, PosternError } from '../errors.js';
import { parseServiceAccountLifetime, type ServiceAccounts } from '../authenticate/service-accounts.js';
import type { Logger } from '../telemetry/logger.js';
import type { ControlHandlers } from './server.js';

function badArgument(detail: string): PosternError {
  return new PosternError(Errors.CONTROL_BAD_REQUEST, detail);
}

function stringArg(args: Readonly<Record<string, unknown>>, name: string, required: true): string;
function stringArg(args: Readonly<Record<string, unknown>>, name: string, required: false): string | undefined;
function stringArg(args: Readonly<Record<string, unknown>>, name: string, required: boolean): string | undefined {
  const value = args[name];
  if (value === undefined || value === null) {
    if (required) throw badArgument(`"${name}" is required`);
    return undefined;
  }
  if (typeof value !== 'string') throw badArgument(`"${name}" must be a string`);
  return value;
}

function isoOrNever(ms: number): string | null {
  return ms === 0 ? null : new Date(ms).toISOString();
}

export function serviceAccountCommands(accounts: ServiceAccounts, logger: Logger): ControlHandlers {
  return {
    /** args: `name`, optional `expires_in` (30d, 12h, 1d12h), optional `email`. */
    'service-account.create': async (args) => {
      const name = stringArg(args, 'name', true);
      const lifetime = stringArg(args, 'expires_in', false);
      const email = stringArg(args, 'email', false);
      let expiresInMs: number | undefined;
      if (lifetime !== undefined) {
        const parsed = parseServiceAccountLifetime(lifetime);
        if (!parsed.ok) throw new PosternError(Errors.SERVICE_ACCOUNT_INVALID, parsed.error);
        expiresInMs = parsed.value;
      }
      const { token, account } = await accounts.create(name, { expiresInMs, email });
      logger.info(
        { service_account_id: account.id, name: account.name, user: account.userId, email: account.email, expires_at: isoOrNever(account.expiresAt) },
        'service account created',
      );
      return { token, account };
    },
    'service-account.list': () => ({ accounts: accounts.list() }),
    /** args: `id`. Answers `{revoked: false}` when no live account has that id. */
    'service-account.revoke': async (args) => {
      const id = stringArg(args, 'id', true);
      const revoked = await accounts.revoke(id);
      if (revoked) logger.info({ service_account_id: id }, 'service account revoked');
      return { revoked };
    },
  };
}

// `postern service-account create|list|revoke`: manages the service accounts
// of a running proxy through its control socket. The config file is read
// only for the socket's path (see control/socket-path.ts for why not more).
import { ConfigError, PosternError, formatProblem } from '../errors.js';
import { parseServiceAccountLifetime, type ServiceAccountInfo } from '../authenticate/service-accounts.js';
import { ControlCommandError, controlRequest } from '../control/client.js';
import { controlSocketPathOf } from '../control/socket-path.js';

export const SERVICE_ACCOUNT_USAGE = `Usage:
  postern service-account create --config FILE --name NAME [--expires LIFETIME] [--email EMAIL]
  postern service-account list   --config FILE
  postern service-account revoke --config FILE --id ID

Manages the service accounts of a running proxy (postern serve) through its
control socket (control_socket in the config; by default .postern.sock next to
the config file, or $RUNTIME_DIRECTORY/postern.sock).

  create   prints the new account's token once, on stdout; it cannot be shown again.
           NAME: lower-case letters, digits and hyphens; the account acts as user sa:NAME.
           LIFETIME: 30d, 12h, 1d12h, ...; without it the account never expires.
  list     prints every live account (never a token).
  revoke   deletes the account: its token is refused from the next request on.`;

export interface CliOutput {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

type Subcommand = 'create' | 'list' | 'revoke';

/** The options each subcommand takes, besides --config. */
const OPTIONS: Readonly<Record<Subcommand, readonly string[]>> = {
  create: ['name', 'expires', 'email'],
  list: [],
  revoke: ['id'],
};

function isSubcommand(word: string): word is Subcommand {
  return Object.hasOwn(OPTIONS, word);
}

interface Parsed {
  readonly subcommand: Subcommand | null;
  readonly help: boolean;
  readonly values: Map<string, string>;
  readonly errors: string[];
}

function parseArgs(argv: readonly string[]): Parsed {
  const values = new Map<string, string>();
  const errors: string[] = [];
  let subcommand: Subcommand | null = null;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      help = true;
    } else if (arg.startsWith('-')) {
      const eq = arg.indexOf('=');
      const flag = eq === -1 ? arg : arg.slice(0, eq);
      const name = flag === '-c' ? 'config' : flag.replace(/^--?/, '');
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined) errors.push(`${flag} needs a value`);
      else if (values.has(name)) errors.push(`${flag} is given twice`);
      else values.set(name, value);
    } else if (subcommand === null && isSubcommand(arg)) {
      subcommand = arg;
    } else {
      errors.push(subcommand === null ? `unknown subcommand ${arg}` : `unexpected argument ${arg}`);
    }
  }
  if (subcommand !== null) {
    const allowed = new Set(['config', ...OPTIONS[subcommand]]);
    for (const name of values.keys()) if (!allowed.has(name)) errors.push(`${subcommand} takes no --${name}`);
  }
  return { subcommand, help, values, errors };
}

/** `2024-05-01T12:00:00Z`: seconds are enough for people, and sort as text. */
function time(ms: number): string {
  return ms === 0 ? 'never' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return rows.map((row) => row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ')).join('\n');
}

async function run(subcommand: Subcommand, values: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv, out: CliOutput): Promise<number> {
  const socket = (): string => controlSocketPathOf(values.get('config')!, env);
  switch (subcommand) {
    case 'create': {
      const args: Record<string, string> = { name: values.get('name')! };
      const expires = values.get('expires');
      if (expires !== undefined) {
        // Checked here too, first, so a typo is reported even when no proxy runs.
        const lifetime = parseServiceAccountLifetime(expires);
        if (!lifetime.ok) {
          out.stderr.write(`postern service-account create: ${lifetime.error}\n`);
          return 2;
        }
        args['expires_in'] = expires;
      }
      const email = values.get('email');
      if (email !== undefined) args['email'] = email;
      const { token, account } = (await controlRequest(socket(), 'service-account.create', args)) as { token: string; account: ServiceAccountInfo };
      out.stderr.write(
        `Created service account ${account.name} (id ${account.id}, user ${account.userId}, expires ${time(account.expiresAt)}).\n` +
          'Its token follows. It is shown only this once and cannot be shown again: store it now.\n',
      );
      out.stdout.write(`${token}\n`);
      return 0;
    }
    case 'list': {
      const { accounts } = (await controlRequest(socket(), 'service-account.list', {})) as { accounts: ServiceAccountInfo[] };
      if (accounts.length === 0) {
        out.stdout.write('no service accounts\n');
        return 0;
      }
      const rows = [['ID', 'NAME', 'USER', 'CREATED', 'EXPIRES'], ...accounts.map((a) => [a.id, a.name, a.userId, time(a.createdAt), time(a.expiresAt)])];
      out.stdout.write(`${table(rows)}\n`);
      return 0;
    }
    case 'revoke': {
      const id = values.get('id')!;
      const { revoked } = (await controlRequest(socket(), 'service-account.revoke', { id })) as { revoked: boolean };
      if (!revoked) {
        out.stderr.write(`postern service-account revoke: no live service account has the id ${id} (revoked or expired already?)\n`);
        return 1;
      }
      out.stdout.write(`Revoked service account ${id}: its token is refused from now on.\n`);
      return 0;
    }
  }
}

/** Runs `postern service-account …` with the arguments after `service-account`; resolves with the exit code. */
export async function runServiceAccount(argv: readonly string[], env: NodeJS.ProcessEnv, out: CliOutput = process): Promise<number> {
  const parsed = parseArgs(argv);
  if (parsed.help) {
    out.stdout.write(`${SERVICE_ACCOUNT_USAGE}\n`);
    return 0;
  }
  const errors = [...parsed.errors];
  if (parsed.subcommand === null && errors.length === 0) errors.push('which subcommand: create, list or revoke?');
  if (parsed.subcommand !== null) {
    const required = ['config', ...(parsed.subcommand === 'create' ? ['name'] : parsed.subcommand === 'revoke' ? ['id'] : [])];
    for (const name of required) if (!parsed.values.has(name)) errors.push(`--${name} is required`);
  }
  if (errors.length > 0 || parsed.subcommand === null) {
    out.stderr.write(`postern service-account: ${errors.join('; ')}\n\n${SERVICE_ACCOUNT_USAGE}\n`);
    return 2;
  }
  const prefix = `postern service-account ${parsed.subcommand}`;
  try {
    return await run(parsed.subcommand, parsed.values, env, out);
  } catch (err) {
    if (err instanceof ConfigError) {
      out.stderr.write(`${prefix}: the configuration is invalid:\n${err.problems.map(formatProblem).join('\n')}\n`);
    } else if (err instanceof PosternError || err instanceof ControlCommandError) {
      out.stderr.write(`${prefix}: ${err.message}\n`);
    } else {
      throw err;
    }
    return 1;
  }
}

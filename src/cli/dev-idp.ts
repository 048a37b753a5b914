// `postern dev-idp --config FILE`: the development OpenID provider as its own
// process, until SIGINT or SIGTERM. `postern serve` never starts it.
import { loadDevIdpConfig } from '../devidp/config.js';
import { startDevIdp } from '../devidp/server.js';
import { createLogger, flushLogger } from '../telemetry/logger.js';

export const DEV_IDP_USAGE = `Usage: postern dev-idp --config FILE

Runs a development OpenID Connect provider on a loopback address, for
development, demos and tests (never for production: plain HTTP, users and
password hashes in a file). Authorization code flow with PKCE (S256), refresh
tokens, userinfo, RP-initiated logout; claims email, email_verified, name and
groups.

Options:
  -c, --config FILE   the dev IdP configuration (YAML): issuer, address,
                      clients, users or users_file, access_token_ttl,
                      id_token_ttl, refresh_token_ttl, keys_file
  -h, --help          print this help

Password hashes come from \`postern hash-password\`. Logs are JSON lines on stdout.`;

function parseArgs(argv: readonly string[]): { config: string | null; help: boolean; error: string | null } {
  let config: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') return { config, help: true, error: null };
    if (arg === '-c' || arg === '--config') {
      const value = argv[++i];
      if (value === undefined) return { config, help: false, error: `${arg} needs a file name` };
      config = value;
    } else if (arg.startsWith('--config=')) {
      config = arg.slice('--config='.length);
    } else {
      return { config, help: false, error: `unexpected argument ${arg}` };
    }
  }
  return { config, help: false, error: config === null ? '--config FILE is required' : null };
}

/** Runs until SIGINT or SIGTERM; configuration and listen errors are thrown for the caller to print. */
export async function runDevIdp(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.help) {
    process.stdout.write(`${DEV_IDP_USAGE}\n`);
    return 0;
  }
  if (args.error !== null || args.config === null) {
    process.stderr.write(`postern dev-idp: ${args.error ?? '--config FILE is required'}\n\n${DEV_IDP_USAGE}\n`);
    return 2;
  }
  const config = loadDevIdpConfig(args.config);
  const logger = createLogger('info').child({ component: 'dev-idp' });
  const idp = await startDevIdp(config, { logger });
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await idp.close();
  logger.info({ event: 'stopped' }, 'development identity provider stopped');
  await flushLogger(logger);
  return 0;
}

#!/usr/bin/env node
// The `postern` command line.
import { readFileSync } from 'node:fs';
import { ConfigError, PosternError, formatProblem } from '../errors.js';
import { checkConfig } from '../config/check.js';
import { serve } from './serve.js';
import { runDemo } from './demo.js';
import { runServiceAccount } from './service-account.js';
import { runDevIdp } from './dev-idp.js';
import { runHashPassword } from './hash-password.js';
import { runPolicyTest } from './policy-test.js';

const USAGE = `Usage: postern <command> [options]

Commands:
  serve --config FILE   run the proxy with a Pomerium-compatible configuration (YAML or JSON)
        [--recover-databroker]  keep the valid prefix of a damaged file store (the rest is moved aside)
  check --config FILE   validate a configuration; prints every problem as file:line: key: message
  demo                  run the local demo (a demo upstream behind the proxy, on loopback)
  dev-idp --config FILE run a development OpenID provider on loopback (never started by serve)
  hash-password         print the argon2id hash of a password read on stdin
  policy test --config FILE --route NAME --as IDENTITY.json --request "GET /path"
                        explain the decision a route's policy makes for a request
  service-account create|list|revoke --config FILE ...
                        manage machine tokens of a running proxy (postern service-account --help)

Options:
  -c, --config FILE     configuration file
  -v, --version         print the version
  -h, --help            print this help

Environment variables override global options by their upper-case name
(ADDRESS, LOG_LEVEL, SHARED_SECRET, ...); POLICY holds base64-encoded routes.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

interface Parsed {
  command: string | null;
  config: string | null;
  flags: Set<string>;
  errors: string[];
}

function parseArgs(argv: readonly string[]): Parsed {
  const parsed: Parsed = { command: null, config: null, flags: new Set(), errors: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-c' || arg === '--config' || arg === '-config') {
      const value = argv[++i];
      if (value === undefined) parsed.errors.push(`${arg} needs a file name`);
      else parsed.config = value;
    } else if (arg === '--recover-databroker') {
      parsed.flags.add('recover-databroker');
    } else if (arg.startsWith('--config=')) {
      parsed.config = arg.slice('--config='.length);
    } else if (arg === '-h' || arg === '--help' || arg === 'help') {
      parsed.flags.add('help');
    } else if (arg === '-v' || arg === '--version' || arg === 'version') {
      parsed.flags.add('version');
    } else if (arg.startsWith('-')) {
      parsed.errors.push(`unknown option ${arg}`);
    } else if (parsed.command === null) {
      parsed.command = arg;
    } else {
      parsed.errors.push(`unexpected argument ${arg}`);
    }
  }
  return parsed;
}

async function main(argv: readonly string[]): Promise<number> {
  // Subcommands with options of their own parse their own arguments.
  if (argv[0] === 'service-account') return runServiceAccount(argv.slice(1), process.env);
  if (argv[0] === 'dev-idp') return runDevIdp(argv.slice(1));
  if (argv[0] === 'hash-password') return runHashPassword(argv.slice(1));
  if (argv[0] === 'policy') return runPolicyTest(argv.slice(1), process.env);
  const args = parseArgs(argv);
  if (args.flags.has('version')) {
    process.stdout.write(`postern ${version()}\n`);
    return 0;
  }
  if (args.flags.has('help') || args.command === null) {
    process.stdout.write(`${USAGE}\n`);
    return args.flags.has('help') ? 0 : 2;
  }
  if (args.errors.length > 0) {
    process.stderr.write(`postern: ${args.errors.join('; ')}\n\n${USAGE}\n`);
    return 2;
  }
  switch (args.command) {
    case 'serve':
    case 'check': {
      if (!args.config) {
        process.stderr.write(`postern ${args.command}: --config FILE is required\n`);
        return 2;
      }
      if (args.command === 'check') {
        const result = checkConfig(args.config, process.env);
        for (const line of result.lines) process.stdout.write(`${line}\n`);
        if (result.ok) process.stdout.write(`${args.config}: configuration is valid\n`);
        return result.ok ? 0 : 1;
      }
      return serve(args.config, { recoverDatabroker: args.flags.has('recover-databroker') });
    }
    case 'demo':
      return runDemo();
    default:
      process.stderr.write(`postern: unknown command ${args.command}\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`postern: the configuration is invalid:\n${err.problems.map(formatProblem).join('\n')}\n`);
    } else if (err instanceof PosternError) {
      process.stderr.write(`postern: ${err.code}: ${err.message}\n`);
    } else {
      process.stderr.write(`postern: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exit(1);
  },
);

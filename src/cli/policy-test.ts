// `postern policy test`: evaluates one route's policy for a made-up request
// and identity, and shows the decision, the rules and criteria that decided
// it, and the reasons Pomerium would log. A way to check a policy before it
// is deployed; it starts nothing and talks to nobody.
import { readFileSync } from 'node:fs';
import { accessDecision, type AccessDecision } from '../authorize/result.js';
import { policyInput, type IdentityFacts } from '../authorize/input.js';
import { formatPath } from '../authorize/ppl/ast.js';
import type { BlockExplanation, CriterionExplanation, PolicyExplanation } from '../authorize/ppl/compile.js';
import { parseIsoInstant } from '../authorize/ppl/criteria/date.js';
import { compileRoutePolicy } from '../authorize/route-policy.js';
import { loadConfig } from '../config/load.js';
import type { Config, Route } from '../config/types.js';
import { ConfigError, PosternError, formatProblem } from '../errors.js';
import { normalizePath } from '../frontend/normalize-path.js';
import type { ProxyRequest } from '../proxy/request.js';
import { Router } from '../proxy/router.js';

export const POLICY_TEST_USAGE = `Usage:
  postern policy test --config FILE --route NAME --as IDENTITY.json --request "GET /path"
                      [--ip ADDRESS] [--header "Name: value"]... [--time ISO-8601]

Evaluates the policy of one route (its name, or its index in the config) for
a request, as the proxy would, and prints the decision, the rules and
criteria that decided it, and the reasons.

  IDENTITY.json   {"user": "...", "email": "...", "groups": [...], "claims": {...}}
                  (every field optional), or null for an anonymous request
  --ip            the client's address (default 127.0.0.1)
  --header        a request header; repeat for more
  --time          when the request is made (default now; no offset = UTC)

Exit status: 0 allowed, 1 denied or sign-in required, 2 usage or config error.`;

export interface CliOutput {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

class UsageError extends Error {}

interface Options {
  readonly config: string;
  readonly route: string | null;
  readonly as: string;
  readonly request: string;
  readonly ip: string;
  readonly headers: readonly string[];
  readonly time: string | null;
}

const SINGLE = new Set(['config', 'route', 'as', 'request', 'ip', 'time']);

function parseArgs(argv: readonly string[]): Options | 'help' {
  if (argv.includes('-h') || argv.includes('--help')) return 'help';
  if (argv[0] !== 'test') throw new UsageError(argv[0] === undefined ? 'which subcommand? (test)' : `unknown subcommand ${argv[0]}`);
  const values = new Map<string, string>();
  const headers: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (name === 'header') headers.push(value);
    else if (!SINGLE.has(name)) throw new UsageError(`unknown option --${name}`);
    else if (values.has(name)) throw new UsageError(`--${name} is given twice`);
    else values.set(name, value);
  }
  for (const required of ['config', 'as', 'request']) if (!values.has(required)) throw new UsageError(`--${required} is required`);
  return {
    config: values.get('config')!,
    route: values.get('route') ?? null,
    as: values.get('as')!,
    request: values.get('request')!,
    ip: values.get('ip') ?? '127.0.0.1',
    headers,
    time: values.get('time') ?? null,
  };
}

function findRoute(config: Config, wanted: string | null): Route {
  if (wanted === null) {
    if (config.routes.length === 1) return config.routes[0]!;
    throw new UsageError(`--route is required: the config has ${config.routes.length} routes`);
  }
  const named = config.routes.filter((r) => r.name === wanted);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) throw new UsageError(`${named.length} routes are named ${wanted}; give the index instead (${named.map((r) => r.index).join(', ')})`);
  if (/^\d+$/.test(wanted) && Number(wanted) < config.routes.length) return config.routes[Number(wanted)]!;
  throw new UsageError(`no route named ${wanted} (routes: ${config.routes.map((r) => r.name).join(', ')})`);
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The identity file: null, or {user, email, groups, claims}; `email` and `groups` are also claims, as in a real token. */
export function identityFromJson(value: unknown): IdentityFacts | null {
  if (value === null) return null;
  if (!isMap(value)) throw new UsageError('the identity must be null or a map {user, email, groups, claims}');
  for (const key of Object.keys(value)) {
    if (!['user', 'email', 'groups', 'claims'].includes(key)) throw new UsageError(`unknown identity field "${key}" (use user, email, groups, claims)`);
  }
  const { user, email, groups, claims = {} } = value;
  if (user !== undefined && typeof user !== 'string') throw new UsageError('identity user must be a string');
  if (email !== undefined && typeof email !== 'string') throw new UsageError('identity email must be a string');
  if (groups !== undefined && !(Array.isArray(groups) && groups.every((g) => typeof g === 'string'))) {
    throw new UsageError('identity groups must be a list of strings');
  }
  if (!isMap(claims)) throw new UsageError('identity claims must be a map');
  const merged: Record<string, unknown> = { ...claims };
  if (email !== undefined) merged.email = email;
  if (groups !== undefined) merged.groups = groups;
  const claimGroups = merged.groups;
  return {
    kind: 'session',
    sessionId: 'policy-test',
    userId: user ?? (typeof merged.sub === 'string' ? merged.sub : ''),
    email: typeof merged.email === 'string' ? merged.email : '',
    groups: Array.isArray(claimGroups) ? claimGroups.filter((g): g is string => typeof g === 'string') : typeof claimGroups === 'string' ? [claimGroups] : [],
    claims: merged,
  };
}

function readIdentity(file: string): IdentityFacts | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not JSON`);
  }
  return identityFromJson(value);
}

function parseHeader(line: string): [string, string] {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new UsageError(`--header "${line}": expected "Name: value"`);
  return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
}

function describeDecision(d: AccessDecision): string {
  switch (d.kind) {
    case 'allow':
      return 'allow';
    case 'login':
      return 'sign-in required (a browser is redirected to sign in, other clients get 401)';
    case 'deny':
      return `deny (${d.status})`;
  }
}

function where(b: BlockExplanation): string {
  return b.rulePath.length === 0 ? `route options → ${b.action}.${b.operator}` : `${formatPath([...b.rulePath, b.operator])}`;
}

function criterionLine(c: CriterionExplanation, inverted: boolean): string {
  const data = c.data === undefined ? '' : ` ${JSON.stringify(c.data)}`;
  const value = inverted ? `${c.value} (counts as ${c.counted})` : String(c.value);
  return `${c.decisive ? '*' : ' '} ${c.key}:${data} → ${value}, ${c.reason}`;
}

function trace(ex: PolicyExplanation): string[] {
  const lines: string[] = [];
  for (const action of ['allow', 'deny'] as const) {
    const value = ex.result[action];
    const reasons = action === 'allow' ? ex.result.allowReasons : ex.result.denyReasons;
    lines.push(`${action}: ${value} (${action}-why-${value}: ${reasons.length === 0 ? 'none' : reasons.join(', ')})`);
    const blocks = ex.blocks.filter((b) => b.action === action);
    if (blocks.length === 0) lines.push('    no rules');
    for (const b of blocks) {
      lines.push(`  ${b.decisive ? '*' : ' '} ${where(b)} → ${b.value}`);
      const inverted = b.operator === 'not' || b.operator === 'nor';
      for (const c of b.criteria) lines.push(`      ${criterionLine(c, inverted)}   [${formatPath(c.path)}]`);
    }
  }
  return lines;
}

/** The criteria that decided: the ones asking for sign-in, else the decisive ones of the action that decided. */
function decidedBy(ex: PolicyExplanation, d: AccessDecision): CriterionExplanation[] {
  const all = ex.blocks.flatMap((b) => b.criteria);
  if (d.kind === 'login') return all.filter((c) => c.reason === 'user-unauthenticated');
  const certificate = d.kind === 'deny' && (ex.result.denyReasons.includes('client-certificate-required') || ex.result.denyReasons.includes('invalid-client-certificate'));
  const action = d.kind === 'allow' ? 'allow' : ex.result.deny || certificate ? 'deny' : 'allow';
  return ex.blocks.filter((b) => b.action === action && b.decisive).flatMap((b) => b.criteria.filter((c) => c.decisive));
}

function run(options: Options, env: NodeJS.ProcessEnv, out: CliOutput): number {
  const identity = readIdentity(options.as);
  const space = options.request.indexOf(' ');
  if (space <= 0) throw new UsageError(`--request "${options.request}": expected "METHOD /path"`);
  const method = options.request.slice(0, space);
  const target = options.request.slice(space + 1).trim();
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  let now = new Date();
  if (options.time !== null) {
    const t = parseIsoInstant(options.time);
    if (t === null) throw new UsageError(`--time "${options.time}" is not an ISO-8601 date`);
    now = new Date(t);
  }
  const headers = options.headers.flatMap(parseHeader);
  const { config } = loadConfig(options.config, env);
  const route = findRoute(config, options.route);

  const path = normalizePath(rawPath);
  if (typeof path !== 'string') {
    out.stdout.write(`decision    refused before any policy: ${path.status} (${path.message})\n`);
    return 1;
  }
  const host = route.from.host;
  if (!headers.some((h, i) => i % 2 === 0 && h === 'host')) headers.unshift('host', host);
  const req: ProxyRequest = {
    method,
    path,
    query: q < 0 ? '' : target.slice(q + 1),
    host,
    port: route.from.port,
    headers,
    remoteAddress: options.ip,
    secure: route.from.scheme === 'https',
    requestId: 'policy-test',
  };
  const policy = compileRoutePolicy(route.access);
  const explanation = policy.explain(policyInput(req, identity, options.ip, now));
  const decision = accessDecision(explanation.result);

  const lines: string[] = [];
  lines.push(`route       ${route.name} (${route.from.raw}, ${route.location})`);
  if (!host.includes('*')) {
    const routed = new Router(config.routes).match(host, route.from.port ?? (config.insecureServer ? 80 : 443), path);
    if (routed !== route) {
      lines.push(`            note: the proxy would send ${path} on this host to ${routed === null ? 'no route (404)' : `route ${routed.name}`}; evaluated anyway`);
    }
  }
  lines.push(`request     ${method} ${path} from ${options.ip} at ${now.toISOString()}`);
  lines.push(
    `as          ${identity === null ? 'anonymous' : `user ${JSON.stringify(identity.userId)}, email ${JSON.stringify(identity.email)}, groups [${identity.groups.join(', ')}]`}`,
  );
  lines.push(`decision    ${describeDecision(decision)}`);
  if (decision.kind === 'deny') lines.push(`reasons     ${decision.reasons.length === 0 ? 'none (no rule allows this request)' : decision.reasons.join(', ')}`);
  const deciders = decidedBy(explanation, decision).map(
    (c) => `${c.key}: ${JSON.stringify(c.data)} → ${c.reason}   [${formatPath(c.path)}]`,
  );
  if (deciders.length === 0) deciders.push('no rule (nothing allows it)');
  lines.push(`decided by  ${deciders[0]}`, ...deciders.slice(1).map((d) => `            ${d}`));
  lines.push('', ...trace(explanation), '', '* = kept among the reasons of its rule and action');
  out.stdout.write(`${lines.join('\n')}\n`);
  return decision.kind === 'allow' ? 0 : 1;
}

/** Runs `postern policy …` with the arguments after `policy`; resolves with the exit code. */
export async function runPolicyTest(argv: readonly string[], env: NodeJS.ProcessEnv, out: CliOutput = process): Promise<number> {
  try {
    const options = parseArgs(argv);
    if (options === 'help') {
      out.stdout.write(`${POLICY_TEST_USAGE}\n`);
      return 0;
    }
    return run(options, env, out);
  } catch (err) {
    if (err instanceof UsageError) {
      out.stderr.write(`postern policy test: ${err.message}\n\n${POLICY_TEST_USAGE}\n`);
    } else if (err instanceof ConfigError) {
      out.stderr.write(`postern policy test: the configuration is invalid:\n${err.problems.map(formatProblem).join('\n')}\n`);
    } else if (err instanceof PosternError) {
      out.stderr.write(`postern policy test: ${err.message}\n`);
    } else {
      throw err;
    }
    return 2;
  }
}

// Starting the servers under test and waiting until each really answers.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describeTail, type Child, type ProcessGroup } from './children.js';
import type { LoadRequest } from './load.js';
import { IDENTITY_PREFIX } from './hello.js';
import { BENCH_EMAIL_DOMAIN, BENCH_GROUP } from './idp.js';
import { posternMain, repoRoot, uwsHelloMain } from './paths.js';

/** The Host of the public route (and of every request to the upstream direct and to nginx). */
export const BENCH_HOST = 'bench.postern.test';
/**
 * The Host of Postern's route that needs sign-in, and of its authenticate
 * service. *.localhost names, as in the integration tests: the sign-in
 * browser (test/helpers/browser.ts) visits only loopback names, and these two
 * are different sites, as a real deployment's would be.
 */
export const AUTH_ROUTE_HOST = 'app.localhost';
export const AUTHENTICATE_HOST = 'authenticate.localhost';
/**
 * The Host of issue 4's benchmark route: signed-in users, a realistic policy
 * (POLICY) and identity headers passed to the upstream. Its own site, with
 * its own session cookie, like the route above.
 */
export const POLICY_ROUTE_HOST = 'policy.localhost';
/** What the load generator asks the policy route for: under /api/, which its http_path rule allows. */
export const POLICY_ROUTE_PATH = `${IDENTITY_PREFIX}orders/42`;
/**
 * The policy route's PPL: the bench user passes by email domain, group and
 * path together; a deny rule keeps the admin paths out. Every criterion is
 * evaluated on every request (the reasons need them all).
 */
export const POLICY = {
  allow: {
    and: [{ domain: { is: BENCH_EMAIL_DOMAIN } }, { groups: { has: BENCH_GROUP } }, { http_path: { starts_with: IDENTITY_PREFIX } }],
  },
  deny: { or: [{ http_path: { starts_with: `${IDENTITY_PREFIX}admin` } }] },
} as const;
/** Postern logs at this level during the benchmark, so that no per-request log line is on the measurement. */
export const POSTERN_LOG_LEVEL = 'warn';

const READY_TIMEOUT_MS = 15_000;

/** A port that is free on 127.0.0.1 right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port from the kernel'));
      });
    });
  });
}

export interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One GET as the load generator sends it, on a fresh connection. */
export function httpGet(request: LoadRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: request.host };
    for (const [name, value] of request.headers) headers[name.toLowerCase()] = value;
    const req = httpRequest(
      { host: '127.0.0.1', port: request.port, path: request.path, headers, agent: false, timeout: 2_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
    req.end();
  });
}

/**
 * Resolves when GET / on `port` answers 200; rejects when the child exits
 * first or nothing answers 200 in time, with the child's last output.
 */
export async function waitUntilServing(child: Child, port: number, extraLog = ''): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.hasExited()) {
      throw new Error(`${child.name} exited (${await child.exited}) before serving:\n${describeTail(child)}${extraLog}`);
    }
    try {
      const { status } = await httpGet({ port, host: BENCH_HOST, path: '/', headers: [] });
      if (status === 200) return;
      last = `status ${status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `${child.name} did not answer 200 on 127.0.0.1:${port} within ${READY_TIMEOUT_MS / 1000} s ` +
      `(last: ${last}):\n${describeTail(child)}${extraLog}`,
  );
}

export interface Server {
  readonly child: Child;
  readonly port: number;
}

/** The uWS.js hello-world upstream in its own process; it reports the port it got. */
export function startUwsUpstream(group: ProcessGroup): Promise<Server> {
  return startAnnouncedServer(group, 'uWS upstream', uwsHelloMain);
}

/**
 * A server of ours in its own Node process that picks a free loopback port
 * and prints {"port":N} once it listens (the hello upstream, the relays of
 * bench/floor.ts): started, its port read, and served before it is used.
 */
export async function startAnnouncedServer(group: ProcessGroup, name: string, main: string, args: readonly string[] = []): Promise<Server> {
  let announce: (port: number) => void = () => {};
  const announced = new Promise<number>((resolve) => (announce = resolve));
  const child = group.start(name, process.execPath, [main, ...args], {
    onStdoutLine: (line) => {
      if (!line.startsWith('{')) return;
      const port = (JSON.parse(line) as { port?: unknown }).port;
      if (typeof port === 'number') announce(port);
    },
  });
  const port = await Promise.race([
    announced,
    child.exited.then((code) => {
      throw new Error(`${name} exited (${code}):\n${describeTail(child)}`);
    }),
  ]);
  await waitUntilServing(child, port);
  return { child, port };
}

/** How Postern signs users in for the authenticated route: through the benchmark's identity provider. */
export interface SignInSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** `http://authenticate.localhost:<port>`: what Postern serves its sign-in on, and the provider's redirect URIs start with. */
export function authenticateServiceUrl(posternPort: number): string {
  return `http://${AUTHENTICATE_HOST}:${posternPort}`;
}

// Strings go in as JSON, which YAML reads as double-quoted scalars: no secret
// or URL can break the file.
function posternConfig(port: number, upstreamPort: number, signIn: SignInSettings | null): string {
  const q = JSON.stringify;
  const lines = [
    '# Generated by bench/proxy.ts for one benchmark run.',
    `address: 127.0.0.1:${port}`,
    'insecure_server: true',
    `log_level: ${POSTERN_LOG_LEVEL}`,
    `shared_secret: ${q(randomBytes(32).toString('base64'))}`,
    `cookie_secret: ${q(randomBytes(32).toString('base64'))}`,
  ];
  if (signIn !== null) {
    lines.push(
      `authenticate_service_url: ${q(authenticateServiceUrl(port))}`,
      'idp_provider: oidc',
      `idp_provider_url: ${q(signIn.issuer)}`,
      `idp_client_id: ${q(signIn.clientId)}`,
      `idp_client_secret: ${q(signIn.clientSecret)}`,
    );
  }
  lines.push(
    'routes:',
    `  - from: http://${BENCH_HOST}`,
    `    to: http://127.0.0.1:${upstreamPort}`,
    '    allow_public_unauthenticated_access: true',
  );
  if (signIn !== null) {
    lines.push(
      `  - from: http://${AUTH_ROUTE_HOST}`,
      `    to: http://127.0.0.1:${upstreamPort}`,
      '    allow_any_authenticated_user: true',
      `  - from: http://${POLICY_ROUTE_HOST}`,
      `    to: http://127.0.0.1:${upstreamPort}`,
      '    pass_identity_headers: true',
      `    policy: ${q(POLICY)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Postern (`serve`) with a generated config on `port` (chosen by the caller,
 * because the provider's redirect URI names it): the public route to the
 * upstream and, with `signIn`, two more routes to the same upstream: one for
 * any signed-in user, one with POLICY and identity headers. Plain HTTP on
 * loopback; the assertion is signed with the key derived from shared_secret.
 */
export async function startPostern(
  group: ProcessGroup,
  dir: string,
  port: number,
  upstreamPort: number,
  signIn: SignInSettings | null,
): Promise<Server> {
  if (!existsSync(posternMain)) throw new Error(`Postern is not built: ${posternMain} is missing`);
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, posternConfig(port, upstreamPort, signIn), { mode: 0o600 });
  const child = group.start('Postern', process.execPath, [posternMain, 'serve', '--config', configFile], {
    cwd: repoRoot,
  });
  await waitUntilServing(child, port);
  return { child, port };
}

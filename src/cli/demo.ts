// `postern demo` (what `npm start` runs): a development identity provider,
// a demo upstream that shows what reached it, and the proxy in front of it
// with TLS certificates made on first run, all on loopback. The templates
// are config/demo.yaml and config/demo-idp.yaml.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import { ensureDemoCertificates } from '../demo/certificates.js';
import { startEchoUpstream } from '../demo/echo-upstream.js';
import { loadDevIdpConfig, startDevIdp } from '../devidp/index.js';
import { startProxy } from './serve.js';
import type { Logger } from '../telemetry/logger.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const DEMO_HOSTS = ['app.localhost', 'admin.localhost', 'public.localhost', 'authenticate.localhost'] as const;

function render(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\$\{(DEMO_[A-Z_]+)\}/g, (whole, name: string) => values[name] ?? whole);
}

export interface DemoOptions {
  /** Where the demo keeps its generated files (default `.demo` in the package). */
  readonly workDir?: string;
  readonly port?: number;
  /** Default: JSON lines on stdout. */
  readonly logger?: Logger;
}

export interface RunningDemo {
  readonly port: number;
  readonly caCertFile: string;
  readonly issuer: string;
  stop(): Promise<void>;
}

export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const workDir = options.workDir ?? join(root, '.demo');
  const port = options.port ?? Number(process.env.POSTERN_DEMO_PORT ?? 8443);
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const certs = await ensureDemoCertificates(join(workDir, 'tls'), DEMO_HOSTS);
  const upstream = await startEchoUpstream();
  const values: Record<string, string> = {
    DEMO_PORT: String(port),
    DEMO_CLIENT_SECRET: randomBytes(24).toString('base64url'),
    DEMO_USERS_FILE: join(root, 'config', 'demo-users.yaml'),
    DEMO_CERT_FILE: certs.certFile,
    DEMO_KEY_FILE: certs.keyFile,
    DEMO_UPSTREAM_PORT: String(upstream.port),
    DEMO_SHARED_SECRET: randomBytes(32).toString('base64'),
    DEMO_COOKIE_SECRET: randomBytes(32).toString('base64'),
  };
  const closeUpstream = (): Promise<void> => new Promise<void>((resolve) => upstream.server.close(() => resolve()));
  let idp: Awaited<ReturnType<typeof startDevIdp>> | null = null;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  try {
    const idpFile = join(workDir, 'idp.yaml');
    writeFileSync(idpFile, render(readFileSync(join(root, 'config', 'demo-idp.yaml'), 'utf8'), values), { mode: 0o600 });
    idp = await startDevIdp(loadDevIdpConfig(idpFile), options.logger ? { logger: options.logger } : {});
    values.DEMO_IDP_ISSUER = idp.issuer;
    const proxyFile = join(workDir, 'config.yaml');
    writeFileSync(proxyFile, render(readFileSync(join(root, 'config', 'demo.yaml'), 'utf8'), values), { mode: 0o600 });
    proxy = await startProxy(loadConfig(proxyFile, process.env), options.logger);
  } catch (err) {
    // Whatever started must stop, or the process never exits.
    await idp?.close();
    await closeUpstream();
    throw err;
  }
  const startedIdp = idp;
  return {
    port: proxy.port,
    caCertFile: certs.caCertFile,
    issuer: startedIdp.issuer,
    async stop() {
      await proxy.stop(2_000);
      await startedIdp.close();
      await closeUpstream();
    },
  };
}

export async function runDemo(): Promise<number> {
  const demo = await startDemo();
  const base = (host: string): string => `https://${host}:${demo.port}/`;
  process.stderr.write(
    `\nPostern demo is running (TLS with a local CA: ${demo.caCertFile}; trust it, or accept the browser's warning).\n` +
      `  ${base('app.localhost')}      sign-in required, any demo user\n` +
      `  ${base('admin.localhost')}    policy: group admins at example.com (alice; bob gets 403)\n` +
      `  ${base('public.localhost')}   no sign-in\n` +
      `  ${base('app.localhost')}.pomerium/   who you are, and sign out\n` +
      `Demo users (development identity provider at ${demo.issuer}):\n` +
      `  alice / alice-password   (groups: admins, staff)\n` +
      `  bob   / bob-password     (groups: staff)\n` +
      `*.localhost names resolve to this machine in browsers and curl. Press Ctrl-C to stop.\n\n`,
  );
  return new Promise((resolve) => {
    const stop = (): void => {
      void demo.stop().then(() => resolve(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

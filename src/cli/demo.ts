// `postern demo` (what `npm start` runs): a demo upstream behind the proxy
// on loopback, configured by config/demo.yaml with the upstream's port
// filled in. Sign-in joins the demo when authentication lands.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import { startEchoUpstream } from '../demo/echo-upstream.js';
import { startProxy } from './serve.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export async function runDemo(): Promise<number> {
  const upstream = await startEchoUpstream();
  const workDir = join(root, '.demo');
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const template = readFileSync(join(root, 'config', 'demo.yaml'), 'utf8');
  const file = join(workDir, 'config.yaml');
  writeFileSync(
    file,
    template
      .replaceAll('${DEMO_UPSTREAM_PORT}', String(upstream.port))
      .replaceAll('${DEMO_PORT}', process.env.POSTERN_DEMO_PORT ?? '8080')
      .replaceAll('${DEMO_SHARED_SECRET}', randomBytes(32).toString('base64'))
      .replaceAll('${DEMO_COOKIE_SECRET}', randomBytes(32).toString('base64')),
    { mode: 0o600 },
  );
  const proxy = await startProxy(loadConfig(file, process.env));
  process.stderr.write(
    `\nPostern demo is running.\n` +
      `  open   http://localhost:${proxy.port}/        (the demo upstream, through the proxy)\n` +
      `  health http://localhost:${proxy.port}/healthz\n` +
      `  config ${file}\n` +
      `Press Ctrl-C to stop.\n\n`,
  );
  return new Promise((resolve) => {
    const stop = (): void => {
      void proxy.stop(2_000).then(() => {
        upstream.server.close();
        resolve(0);
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_IDP_USAGE } from '../../src/cli/dev-idp.js';

const dir = mkdtempSync(join(tmpdir(), 'postern-dev-idp-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const MODULE = fileURLToPath(new URL('../../src/cli/dev-idp.js', import.meta.url));
const ERRORS = fileURLToPath(new URL('../../src/errors.js', import.meta.url));
const DEMO_USERS = fileURLToPath(new URL('../../../config/demo-users.yaml', import.meta.url));

/** Runs runDevIdp in a child process, printing a thrown ConfigError as `postern` does. */
function start(args: string[]) {
  const script = `import { runDevIdp } from ${JSON.stringify(MODULE)};
import { ConfigError, formatProblem } from ${JSON.stringify(ERRORS)};
try { process.exitCode = await runDevIdp(${JSON.stringify(args)}); }
catch (err) { process.stderr.write(err instanceof ConfigError ? err.problems.map(formatProblem).join('\\n') + '\\n' : String(err) + '\\n'); process.exitCode = 1; }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = once(child, 'close').then(([code]) => code as number | null);
  return { child, out, exited };
}

function config(text: string): string {
  const file = join(dir, `idp-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return file;
}

const CLIENTS = 'clients:\n  - client_id: postern\n    client_secret: s3cret\n    redirect_uris: [https://authenticate.localhost/oauth2/callback]\n';

test('postern dev-idp serves discovery on loopback, logs JSON lines, and stops cleanly on SIGTERM', async () => {
  const run = start(['--config', config(`address: 127.0.0.1:0\nusers_file: ${DEMO_USERS}\n${CLIENTS}`)]);
  try {
    const deadline = Date.now() + 10_000;
    while (!run.out.stdout.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const listening = JSON.parse(run.out.stdout.split('\n')[0]!) as { event: string; issuer: string; users: number; component: string };
    assert.deepEqual([listening.event, listening.users, listening.component], ['listening', 2, 'dev-idp']);
    assert.match(listening.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    const meta = (await (await fetch(`${listening.issuer}/.well-known/openid-configuration`)).json()) as { issuer: string };
    assert.equal(meta.issuer, listening.issuer);
  } finally {
    run.child.kill('SIGTERM');
  }
  assert.equal(await run.exited, 0);
  assert.equal(run.out.stderr, '', 'no warning on stderr (the unsupported-runtime notice is dropped)');
  const lines = run.out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string });
  assert.equal(lines.at(-1)?.event, 'stopped');
});

test('a non-loopback address stops start-up with file:line: key: message', async () => {
  const file = config(`${CLIENTS}users_file: ${DEMO_USERS}\naddress: 0.0.0.0:9000\n`);
  const run = start(['--config', file]);
  assert.equal(await run.exited, 1);
  assert.equal(run.out.stderr, `${file}:6: address: the development identity provider listens on loopback only: use 127.0.0.1:PORT or [::1]:PORT\n`);
});

test('--help prints the usage; a missing --config is a usage error', async () => {
  const help = start(['--help']);
  assert.equal(await help.exited, 0);
  assert.equal(help.out.stdout, `${DEV_IDP_USAGE}\n`);
  const missing = start([]);
  assert.equal(await missing.exited, 2);
  assert.match(missing.out.stderr, /--config FILE is required/);
});

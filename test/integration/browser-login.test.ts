// The demo, signed into with a real browser: headless Debian Chromium,
// driven by playwright-core, logs in at the development identity provider,
// sees its identity, signs out, and is asked to log in again.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startDemo, type RunningDemo } from '../../src/cli/demo.js';

const CHROMIUM = '/usr/bin/chromium';
// CI installs Chromium (.ci/run); a developer machine without it skips, loudly.
const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run must install Debian's chromium`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let demo: RunningDemo;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let workDir: string;

before(async () => {
  if (missing) return;
  workDir = mkdtempSync(join(tmpdir(), 'postern-demo-'));
  demo = await startDemo({ workDir, port: await freePort(), logger: pino({ level: 'silent' }) });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP *.localhost 127.0.0.1',
    ],
  });
  // The demo's CA is made at run time; the browser is told to accept it
  // rather than install it.
  context = await browser.newContext({ ignoreHTTPSErrors: true });
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const app = (path: string): string => `https://app.localhost:${demo.port}${path}`;

/** A request outside the browser, replaying a cookie by hand (TLS to loopback with the app's server name). */
function statusWithCookie(path: string, cookie: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: demo.port,
        servername: 'app.localhost',
        path,
        rejectUnauthorized: false,
        headers: { host: `app.localhost:${demo.port}`, accept: 'application/json', cookie },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function signIn(username: string, password: string): Promise<void> {
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL((u) => u.hostname === 'app.localhost', { timeout: 15_000 }), page.click('button[type=submit]')]);
}

test('a browser signs in at the identity provider, sees who it is, signs out, and must sign in again', { skip: missing && `${CHROMIUM} not installed` }, async () => {
  await page.goto(app('/reports/q3?year=2026'));
  // Sent to the provider's login form.
  assert.equal(new URL(page.url()).origin, demo.issuer);
  await signIn('alice', 'alice-password');

  // Back at exactly the URL first asked for, through the proxy, without our cookie upstream.
  assert.equal(page.url(), app('/reports/q3?year=2026'));
  const upstreamPage = await page.content();
  assert.match(upstreamPage, /Demo upstream/);
  assert.match(upstreamPage, /through-postern/);
  // The upstream received a signed identity naming alice.
  assert.match(upstreamPage, /Who is calling/);
  assert.match(upstreamPage, /alice@example\.com/);
  assert.doesNotMatch(upstreamPage, /_pomerium=/);
  const cookies = await context.cookies(app('/'));
  const session = cookies.find((c) => c.name === '_pomerium');
  assert.ok(session, 'the session cookie is set on the route host');
  assert.equal(session.httpOnly, true);
  assert.equal(session.secure, true);
  assert.ok(session.value.length < 100, `a small handle, not tokens (${session.value.length} bytes)`);

  // Who am I: the identity, never a token.
  await page.goto(app('/.pomerium/'));
  const me = await page.content();
  assert.match(me, /alice@example\.com/);
  assert.match(me, /admins, staff/);
  assert.doesNotMatch(me, /eyJ[\w-]+\.eyJ/, 'no JWT on the user page');

  // Sign out: through the authenticate host and the provider's end-session page, to the signed-out page.
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/.pomerium/signed_out', { timeout: 15_000 }),
    page.click('button[type=submit]'),
  ]);
  assert.match(await page.content(), /Signed out/);

  // The old cookie is worthless, and the browser is asked to sign in again.
  assert.equal(await statusWithCookie('/reports/q3', `_pomerium=${session.value}`), 401);
  await page.goto(app('/reports/q3'));
  assert.equal(new URL(page.url()).origin, demo.issuer);
  assert.ok(await page.isVisible('input[name=password]'), 'the provider asks for the password again');
});

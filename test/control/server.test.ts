import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Errors, PosternError } from '../../src/errors.js';
import { ControlCommandError, controlRequest } from '../../src/control/client.js';
import { startControlServer, type ControlHandlers, type ControlServer } from '../../src/control/server.js';
import { MAX_REQUEST_BYTES } from '../../src/control/protocol.js';
import type { Logger } from '../../src/telemetry/logger.js';

function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger: Logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'postern-ctl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function start(t: TestContext, handlers: ControlHandlers = {}, path = join(tempDir(t), 'p.sock')): Promise<ControlServer & { lines: Record<string, unknown>[] }> {
  const { logger, lines } = capturingLogger();
  const server = await startControlServer(path, handlers, logger);
  t.after(() => server.close());
  return Object.assign(server, { lines });
}

/** Writes raw bytes on one connection; resolves with every response line once the server closes or `count` lines arrived. */
function exchange(path: string, payload: string | Buffer, count: number): Promise<{ lines: unknown[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let text = '';
    const lines = (): unknown[] => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      if (lines().length >= count) {
        socket.destroy();
        resolve({ lines: lines(), closed: false });
      }
    });
    socket.on('end', () => resolve({ lines: lines(), closed: true }));
    socket.on('error', reject);
  });
}

/** A process that listens on `path` and is killed with SIGKILL: its socket file stays, with nobody behind it. */
async function leaveDeadSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

function rejectsWith(code: string, pattern: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof PosternError || err instanceof ControlCommandError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  };
}

test('ping answers with the process id, on a socket only its owner may use', async (t) => {
  const server = await start(t);
  assert.deepEqual(await controlRequest(server.path, 'ping', {}, 2_000), { pid: process.pid });
  const st = lstatSync(server.path);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
});

test('commands get their args and answer with their result; a command without a result answers null', async (t) => {
  const server = await start(t, {
    echo: (args) => ({ got: args }),
    later: async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return 'done';
    },
    nothing: () => undefined,
  });
  assert.deepEqual(await controlRequest(server.path, 'echo', { a: 1, b: ['x'] }, 2_000), { got: { a: 1, b: ['x'] } });
  assert.equal(await controlRequest(server.path, 'later', {}, 2_000), 'done');
  assert.equal(await controlRequest(server.path, 'nothing', {}, 2_000), null);
});

test('a PosternError from a command reaches the client with its code; any other error is an internal error, logged', async (t) => {
  const server = await start(t, {
    refuse: () => {
      throw new PosternError(Errors.SERVICE_ACCOUNT_INVALID, 'name is bad');
    },
    crash: () => {
      throw new Error('secret detail');
    },
  });
  await assert.rejects(controlRequest(server.path, 'refuse', {}, 2_000), rejectsWith('PST_SERVICE_ACCOUNT_INVALID', /name is bad/));
  await assert.rejects(controlRequest(server.path, 'crash', {}, 2_000), (err: unknown) => {
    assert.ok(err instanceof ControlCommandError);
    assert.equal(err.code, 'PST_INTERNAL');
    assert.doesNotMatch(err.message, /secret detail/);
    return true;
  });
  assert.ok(server.lines.some((l) => l['msg'] === 'control command failed' && l['command'] === 'crash'));
});

test('an unknown command, and an inherited property name, are refused as bad requests', async (t) => {
  const server = await start(t);
  for (const command of ['nope', 'constructor', '__proto__', 'toString']) {
    await assert.rejects(controlRequest(server.path, command, {}, 2_000), rejectsWith('PST_CONTROL_BAD_REQUEST', /unknown command/));
  }
});

test('malformed requests are answered with an error and the connection keeps serving', async (t) => {
  const server = await start(t, { echo: (args) => args });
  const payload = [
    'not json',
    '[1,2]',
    '{"command":"ping"}',
    '{"id":{},"command":"ping"}',
    '{"id":2,"command":7}',
    '{"id":3,"command":"echo","args":[1]}',
    '',
    '{"id":4,"command":"echo","args":{"k":"v"}}',
  ].join('\n');
  const { lines } = await exchange(server.path, `${payload}\n`, 7);
  assert.deepEqual(lines, [
    { id: null, ok: false, error: { code: 'PST_CONTROL_BAD_REQUEST', message: 'the control request is invalid: not a JSON value' } },
    { id: null, ok: false, error: { code: 'PST_CONTROL_BAD_REQUEST', message: 'the control request is invalid: not a JSON object' } },
    { id: null, ok: false, error: { code: 'PST_CONTROL_BAD_REQUEST', message: 'the control request is invalid: "id" must be a string or a number' } },
    { id: null, ok: false, error: { code: 'PST_CONTROL_BAD_REQUEST', message: 'the control request is invalid: "id" must be a string or a number' } },
    { id: 2, ok: false, error: { code: 'PST_CONTROL_BAD_REQUEST', message: 'the control request is invalid: "command" must be a string' } },
    { id: 3, ok: false, error: { code: 'PST_CONTROL_BAD_REQUEST', message: 'the control request is invalid: "args" must be an object' } },
    { id: 4, ok: true, result: { k: 'v' } },
  ]);
});

test('several requests on one connection are answered by id, as each finishes', async (t) => {
  const server = await start(t, {
    slow: async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return 'slow';
    },
    fast: () => 'fast',
  });
  const { lines } = await exchange(server.path, '{"id":"a","command":"slow"}\n{"id":"b","command":"fast"}\n', 2);
  assert.deepEqual(lines, [
    { id: 'b', ok: true, result: 'fast' },
    { id: 'a', ok: true, result: 'slow' },
  ]);
});

test('a request line over the limit is answered with an error and the connection is closed; the server lives on', async (t) => {
  const server = await start(t);
  const { lines, closed } = await exchange(server.path, Buffer.alloc(MAX_REQUEST_BYTES + 1, 'a'), 2);
  assert.equal(closed, true);
  assert.deepEqual(lines, [
    { id: null, ok: false, error: { code: 'PST_CONTROL_BAD_REQUEST', message: `the control request is invalid: a request line is longer than ${MAX_REQUEST_BYTES} bytes` } },
  ]);
  assert.deepEqual(await controlRequest(server.path, 'ping', {}, 2_000), { pid: process.pid });
});

test('close removes the socket and drops open connections', async (t) => {
  const server = await start(t);
  const open = createConnection(server.path);
  await new Promise((resolve) => open.on('connect', resolve));
  const ended = new Promise((resolve) => open.on('close', resolve));
  await server.close();
  await ended;
  assert.equal(existsSync(server.path), false);
  await assert.rejects(controlRequest(server.path, 'ping', {}, 2_000), rejectsWith('PST_CONTROL_UNREACHABLE', /is postern serve running\? no control socket at/));
});

test('a stale socket file that nobody answers on (left by a killed process) is replaced', async (t) => {
  const path = join(tempDir(t), 'p.sock');
  await leaveDeadSocket(path);
  assert.ok(lstatSync(path).isSocket());
  const server = await start(t, {}, path);
  assert.deepEqual(await controlRequest(server.path, 'ping', {}, 2_000), { pid: process.pid });
  assert.ok(server.lines.some((l) => l['msg'] === 'removed a stale control socket'));
});

test('a socket that a live process answers on is left alone and the start is refused', async (t) => {
  const first = await start(t);
  await assert.rejects(startControlServer(first.path, {}, capturingLogger().logger), rejectsWith('PST_CONTROL_SOCKET_UNAVAILABLE', /another process is listening/));
  assert.deepEqual(await controlRequest(first.path, 'ping', {}, 2_000), { pid: process.pid });
});

test('a file that is not a socket is never removed', async (t) => {
  const path = join(tempDir(t), 'p.sock');
  writeFileSync(path, 'precious');
  await assert.rejects(startControlServer(path, {}, capturingLogger().logger), rejectsWith('PST_CONTROL_SOCKET_UNAVAILABLE', /is not a socket/));
  assert.ok(lstatSync(path).isFile());
});

test('a directory that others may write to, or that another user owns, is refused', async (t) => {
  const open = tempDir(t);
  chmodSync(open, 0o777);
  await assert.rejects(startControlServer(join(open, 'p.sock'), {}, capturingLogger().logger), rejectsWith('PST_CONTROL_SOCKET_UNAVAILABLE', /writable by other users \(mode 777\)/));
  if (process.getuid?.() !== 0) {
    t.diagnostic('not root: the ownership case needs chown');
    return;
  }
  const foreign = tempDir(t);
  chownSync(foreign, 65534, 65534);
  await assert.rejects(startControlServer(join(foreign, 'p.sock'), {}, capturingLogger().logger), rejectsWith('PST_CONTROL_SOCKET_UNAVAILABLE', /belongs to uid 65534/));
});

test('a missing directory is created private', async (t) => {
  const dir = join(tempDir(t), 'run', 'postern');
  const server = await start(t, {}, join(dir, 'p.sock'));
  assert.equal(lstatSync(dir).mode & 0o777, 0o700);
  assert.deepEqual(await controlRequest(server.path, 'ping', {}, 2_000), { pid: process.pid });
});

test('a socket path too long for the kernel is refused with the reason', async (t) => {
  const path = join(tempDir(t), 'x'.repeat(120));
  await assert.rejects(startControlServer(path, {}, capturingLogger().logger), rejectsWith('PST_CONTROL_SOCKET_UNAVAILABLE', /longer than 107 bytes/));
});

test('the client gives up after its timeout when nothing answers, and says so', async (t) => {
  const path = join(tempDir(t), 'mute.sock');
  // Reads (so it sees the client leave) but never answers.
  const mute = createServer((socket) => socket.resume());
  await new Promise<void>((resolve) => mute.listen(path, resolve));
  t.after(() => new Promise<void>((resolve) => mute.close(() => resolve())));
  await assert.rejects(controlRequest(path, 'ping', {}, 100), rejectsWith('PST_CONTROL_UNREACHABLE', /no answer .* within 100 ms/));
});

test('the client reports a connection closed without an answer', async (t) => {
  const path = join(tempDir(t), 'rude.sock');
  const rude = createServer((socket) => socket.resume().end());
  await new Promise<void>((resolve) => rude.listen(path, resolve));
  t.after(() => new Promise<void>((resolve) => rude.close(() => resolve())));
  await assert.rejects(controlRequest(path, 'ping', {}, 2_000), rejectsWith('PST_CONTROL_UNREACHABLE', /closed the control connection .* without answering/));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PassThrough, Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseOptions, verify } from '@node-rs/argon2';
import { HASH_PASSWORD_USAGE, runHashPassword, type HashPasswordIo } from '../../src/cli/hash-password.js';

function collector(): Writable & { text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return Object.assign(stream, { text: () => Buffer.concat(chunks).toString('utf8') });
}

async function run(input: string | Readable, argv: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = collector();
  const stderr = collector();
  const stdin = typeof input === 'string' ? Readable.from([Buffer.from(input)]) : input;
  const code = await runHashPassword(argv, { stdin, stdout, stderr } as HashPasswordIo);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

test('a piped password is hashed with argon2id (19 MiB, 2 passes, 1 lane) and the hash verifies', async () => {
  const { code, stdout, stderr } = await run('s3cret pass');
  assert.equal(code, 0);
  assert.equal(stderr, '');
  assert.match(stdout, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$\S+\n$/);
  const hash = stdout.trim();
  assert.deepEqual(
    (({ memoryCost, timeCost, parallelism, outputLen, saltLen }) => ({ memoryCost, timeCost, parallelism, outputLen, saltLen }))(parseOptions(hash)),
    { memoryCost: 19_456, timeCost: 2, parallelism: 1, outputLen: 32, saltLen: 16 },
  );
  assert.ok(await verify(hash, 's3cret pass'));
  assert.ok(!(await verify(hash, 's3cret pass\n')));
});

test('one trailing LF or CRLF is dropped, so `echo` and `printf` give the same password; other whitespace is kept', async () => {
  for (const [input, password] of [['pw\n', 'pw'], ['pw\r\n', 'pw'], ['pw\n\n', 'pw\n'], [' pw ', ' pw ']] as const) {
    const { stdout } = await run(input);
    assert.ok(await verify(stdout.trim(), password), JSON.stringify(input));
  }
});

test('every run uses a fresh salt', async () => {
  const a = (await run('same')).stdout;
  const b = (await run('same')).stdout;
  assert.notEqual(a, b);
});

test('an empty password is refused', async () => {
  for (const input of ['', '\n']) {
    const { code, stdout, stderr } = await run(input);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /the password is empty/);
  }
});

test('--help prints the usage; any other argument is a usage error', async () => {
  const help = await run('', ['--help']);
  assert.deepEqual([help.code, help.stdout], [0, `${HASH_PASSWORD_USAGE}\n`]);
  const bad = await run('x', ['--password-stdin']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unexpected argument --password-stdin/);
});

/** A terminal: raw mode is recorded, typed text arrives as data. */
function terminal(): PassThrough & { isTTY: boolean; rawModes: boolean[]; setRawMode(raw: boolean): void } {
  const rawModes: boolean[] = [];
  return Object.assign(new PassThrough(), { isTTY: true, rawModes, setRawMode: (raw: boolean) => void rawModes.push(raw) });
}

test('from a terminal the password is asked twice in raw mode, never echoed, with backspace', async () => {
  const tty = terminal();
  const result = run(tty);
  tty.write('secx\u007fret\r');
  tty.write('secret\r');
  const { code, stdout, stderr } = await result;
  assert.equal(code, 0);
  assert.ok(await verify(stdout.trim(), 'secret'));
  assert.equal(stderr, 'Password: \nRepeat password: \n', 'prompts only: nothing typed is shown');
  assert.deepEqual(tty.rawModes, [true, false, true, false]);
});

test('a pasted pair of lines answers both prompts', async () => {
  const tty = terminal();
  const result = run(tty);
  tty.write('pasted\r\npasted\r\n');
  const { code, stdout } = await result;
  assert.equal(code, 0);
  assert.ok(await verify(stdout.trim(), 'pasted'));
});

test('from a terminal, different answers or Ctrl-C print no hash', async () => {
  const differ = terminal();
  const first = run(differ);
  differ.write('one\rtwo\r');
  const a = await first;
  assert.deepEqual([a.code, a.stdout], [1, '']);
  assert.match(a.stderr, /the passwords differ/);
  const interrupted = terminal();
  const second = run(interrupted);
  interrupted.write('abc\u0003');
  const b = await second;
  assert.deepEqual([b.code, b.stdout], [1, '']);
  assert.deepEqual(interrupted.rawModes, [true, false], 'the terminal is left in cooked mode');
});

test('`printf secret | postern hash-password` works through a real pipe', async () => {
  const module = fileURLToPath(new URL('../../src/cli/hash-password.js', import.meta.url));
  const child = spawn(process.execPath, ['--input-type=module', '-e', `import { runHashPassword } from ${JSON.stringify(module)}; process.exitCode = await runHashPassword([]);`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stdin.end('from-a-pipe');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  assert.ok(await verify(stdout.trim(), 'from-a-pipe'));
});

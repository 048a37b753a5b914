// `postern hash-password`: the argon2id hash of a password read on standard
// input, for `password_hash` in a dev IdP users file. From a terminal the
// password is typed twice without echo; from a pipe the whole input is the
// password, less one trailing line break, so both `printf 'secret'` and
// `echo secret` give the hash of "secret".
import type { Readable, Writable } from 'node:stream';
import { hashPassword } from '../devidp/password.js';

export const HASH_PASSWORD_USAGE = `Usage: postern hash-password

Reads a password on standard input and prints its argon2id hash, for
password_hash in a dev-idp users file. From a terminal it asks twice without
echo; from a pipe the whole input is the password (one trailing line break is
dropped):

  printf '%s' 'secret' | postern hash-password

Hash parameters: argon2id, 19 MiB of memory, 2 passes, 1 lane, 16-byte random
salt, 32-byte output (OWASP's recommended minimum; about 13 ms per check).`;

export interface HashPasswordIo {
  readonly stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  readonly stdout: Writable;
  readonly stderr: Writable;
}

const PROCESS_IO: HashPasswordIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

/** Everything on a non-terminal input, without one trailing LF or CRLF. */
export async function readPipedPassword(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

/** One line typed at a terminal in raw mode, nothing echoed; null when the user gives up (Ctrl-C, Ctrl-D). */
function readHiddenLine(io: HashPasswordIo, prompt: string): Promise<string | null> {
  const { stdin, stderr } = io;
  stderr.write(prompt);
  stdin.setRawMode?.(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve) => {
    let line = '';
    const finish = (value: string | null): void => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      stderr.write('\n');
      resolve(value);
    };
    const onData = (data: string): void => {
      for (let i = 0; i < data.length; i++) {
        const ch = data[i]!;
        if (ch === '\r' || ch === '\n') {
          // Pasted text may hold the next line too: it is put back for the next prompt.
          const rest = data.slice(i + (ch === '\r' && data[i + 1] === '\n' ? 2 : 1));
          finish(line);
          if (rest !== '') stdin.unshift(rest);
          return;
        }
        if (ch === '\u0003' || (ch === '\u0004' && line === '')) return finish(null);
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else if (ch >= ' ') line += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readTypedPassword(io: HashPasswordIo): Promise<string | null> {
  const first = await readHiddenLine(io, 'Password: ');
  if (first === null) return null;
  const second = await readHiddenLine(io, 'Repeat password: ');
  if (second === null) return null;
  if (first !== second) {
    io.stderr.write('postern hash-password: the passwords differ\n');
    return null;
  }
  return first;
}

export async function runHashPassword(argv: readonly string[], io: HashPasswordIo = PROCESS_IO): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    io.stdout.write(`${HASH_PASSWORD_USAGE}\n`);
    return 0;
  }
  if (argv.length > 0) {
    io.stderr.write(`postern hash-password: unexpected argument ${argv[0]!}\n\n${HASH_PASSWORD_USAGE}\n`);
    return 2;
  }
  const password = io.stdin.isTTY === true ? await readTypedPassword(io) : await readPipedPassword(io.stdin);
  if (password === null) return 1;
  if (password === '') {
    io.stderr.write('postern hash-password: the password is empty\n');
    return 1;
  }
  io.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}

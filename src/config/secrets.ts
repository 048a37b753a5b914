// Secrets and the `*_file` variants that read a value from a file. Messages
// name the key and, for files, the path — never the value.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { readString, type Options } from './fields.js';
import type { Findings, Located, Where } from './findings.js';

/** Relative `*_file` paths are relative to the directory of the config file. */
function resolvePath(dir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dir, path);
}

/** The text of a file named by `loc` (a `*_file` key), or undefined with a problem recorded. */
function readFileFor(f: Findings, loc: Located, dir: string): { text: string; path: string } | undefined {
  const name = readString(f, loc);
  return name === undefined ? undefined : readPath(f, loc, name, dir);
}

/** The text of the file at `name` (relative to `dir`); problems are reported at `loc`. */
export function readPath(f: Findings, loc: Located, name: string, dir: string): { text: string; path: string } | undefined {
  if (name === '') {
    f.error(loc, 'must be a file path, not empty');
    return undefined;
  }
  const path = resolvePath(dir, name);
  try {
    return { text: readFileSync(path, 'utf8'), path };
  } catch (err) {
    f.error(loc, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    return undefined;
  }
}

export interface ValueText {
  readonly text: string;
  /** The key it came from: `name` or `name_file`. */
  readonly loc: Located;
  readonly fromFile: boolean;
}

/**
 * The value of `name`, or the content of the file named by `name_file`.
 * undefined when neither is set; null when a problem was recorded.
 */
export function valueOrFile(f: Findings, options: Options, name: string, dir: string): ValueText | undefined | null {
  const inline = options.get(name);
  const file = options.get(`${name}_file`);
  if (inline !== undefined && file !== undefined) {
    f.error(file, `set either ${name} or ${name}_file, not both`);
    return null;
  }
  if (file !== undefined) {
    const read = readFileFor(f, file, dir);
    return read === undefined ? null : { text: read.text, loc: file, fromFile: true };
  }
  if (inline !== undefined) {
    const text = readString(f, inline);
    return text === undefined ? null : { text, loc: inline, fromFile: false };
  }
  return undefined;
}

/**
 * Go's base64.StdEncoding: standard alphabet, padding required, CR and LF
 * skipped. Stricter than Buffer.from(…, 'base64'), which drops anything it
 * does not understand.
 */
export function decodeBase64Std(text: string): Buffer | null {
  const compact = text.replace(/[\r\n]/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return null;
  return Buffer.from(compact, 'base64');
}

export interface Secret {
  readonly secret: Buffer;
  readonly generated: boolean;
}

const SECRET_BYTES = 32;

function generated(f: Findings, at: Where, consequence: string): Secret {
  f.warnAt(at, `not set: a random one was generated at start-up, so ${consequence}`);
  return { secret: randomBytes(SECRET_BYTES), generated: true };
}

function decode32(f: Findings, value: ValueText): Buffer | undefined {
  const bytes = decodeBase64Std(value.text);
  if (bytes === null) {
    f.error(value.loc, `${value.fromFile ? 'the file' : 'the value'} must be base64 (standard alphabet, with padding)`);
    return undefined;
  }
  if (bytes.length !== SECRET_BYTES) {
    f.error(value.loc, `must decode to ${SECRET_BYTES} bytes, not ${bytes.length} (generate one with: head -c32 /dev/urandom | base64)`);
    return undefined;
  }
  return bytes;
}

/**
 * `shared_secret`: base64 of 32 bytes. As in Pomerium, the file is read
 * without trimming and any surrounding whitespace is an error (a trailing
 * newline included).
 */
export function decodeSharedSecret(f: Findings, options: Options, dir: string, configFile: string): Secret {
  const value = valueOrFile(f, options, 'shared_secret', dir);
  if (value === undefined || (value !== null && value.text === '' && !value.fromFile)) {
    return generated(f, { file: configFile, line: 0, key: 'shared_secret' }, 'sessions do not survive a restart and instances cannot share them');
  }
  if (value === null) return placeholder();
  if (value.text.trim() !== value.text || value.text === '') {
    f.error(value.loc, value.text === '' ? 'the file is empty' : `shared secret contains whitespace${value.fromFile ? ' (the file is read as is: remove the trailing newline)' : ''}`);
    return placeholder();
  }
  const bytes = decode32(f, value);
  return bytes === undefined ? placeholder() : { secret: bytes, generated: false };
}

/** `cookie_secret`: base64 of 32 bytes; the file is decoded as read, line breaks skipped. */
export function decodeCookieSecret(f: Findings, options: Options, dir: string, configFile: string): Secret {
  const value = valueOrFile(f, options, 'cookie_secret', dir);
  if (value === undefined || (value !== null && value.text === '' && !value.fromFile)) {
    return generated(f, { file: configFile, line: 0, key: 'cookie_secret' }, 'logins in progress fail after a restart and instances cannot share them');
  }
  if (value === null) return placeholder();
  if (value.text === '') {
    f.error(value.loc, 'the file is empty');
    return placeholder();
  }
  const bytes = decode32(f, value);
  return bytes === undefined ? placeholder() : { secret: bytes, generated: false };
}

/** `idp_client_secret`: used verbatim. Pomerium does not trim the file either, so a trailing newline is sent. */
export function decodeIdpClientSecret(f: Findings, options: Options, dir: string): string {
  const value = valueOrFile(f, options, 'idp_client_secret', dir);
  if (value === undefined || value === null) return '';
  if (value.fromFile && /[\r\n]$/.test(value.text)) {
    f.warn(value.loc, 'the file ends with a line break, which is sent as part of the secret (as Pomerium does)');
  }
  return value.text;
}

/** Stands in for a secret that failed validation, so decoding can go on and report the rest. */
function placeholder(): Secret {
  return { secret: Buffer.alloc(SECRET_BYTES), generated: false };
}

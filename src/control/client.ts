// The client side of the control socket: one request, one response, then the
// connection closes. Used by the management commands of the CLI.
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { Errors, PosternError } from '../errors.js';
import { isPlainObject, LineSplitter, MAX_RESPONSE_BYTES } from './protocol.js';

export const DEFAULT_CONTROL_TIMEOUT_MS = 10_000;

/** The proxy received the command and refused it; `code` is the catalogue code it answered with. */
export class ControlCommandError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'ControlCommandError';
    this.code = code;
  }
}

function unreachable(detail: string, cause?: unknown): PosternError {
  return new PosternError(Errors.CONTROL_UNREACHABLE, detail, cause === undefined ? undefined : { cause });
}

function connectError(path: string, err: NodeJS.ErrnoException): PosternError {
  switch (err.code) {
    case 'ENOENT':
      return unreachable(`is postern serve running? no control socket at ${path}`, err);
    case 'ECONNREFUSED':
      return unreachable(`is postern serve running? nothing answers on the control socket at ${path}`, err);
    case 'EACCES':
    case 'EPERM':
      return unreachable(`permission denied on the control socket at ${path}: run this as the user that runs postern serve`, err);
    default:
      return unreachable(`${err.code ?? err.message} on the control socket at ${path}`, err);
  }
}

/** Sends one command to the running proxy; resolves with its result, rejects with PosternError or ControlCommandError. */
export function controlRequest(socketPath: string, command: string, args: Readonly<Record<string, unknown>>, timeoutMs = DEFAULT_CONTROL_TIMEOUT_MS): Promise<unknown> {
  const path = resolve(socketPath);
  return new Promise((resolvePromise, reject) => {
    let settled = false;
    const socket = createConnection(path);
    const finish = (outcome: { result: unknown } | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolvePromise(outcome.result);
    };
    const timer = setTimeout(() => finish(unreachable(`no answer on the control socket at ${path} within ${timeoutMs} ms`)), timeoutMs);
    const onLine = (line: string): void => {
      let response: unknown;
      try {
        response = JSON.parse(line);
      } catch {
        finish(unreachable(`the answer on ${path} is not JSON`));
        return;
      }
      if (!isPlainObject(response) || response['id'] !== 1 || typeof response['ok'] !== 'boolean') {
        finish(unreachable(`the answer on ${path} is not a control response`));
      } else if (response['ok']) {
        finish({ result: response['result'] });
      } else {
        const error = isPlainObject(response['error']) ? response['error'] : {};
        const code = typeof error['code'] === 'string' ? error['code'] : Errors.INTERNAL.code;
        const message = typeof error['message'] === 'string' ? error['message'] : Errors.INTERNAL.message;
        finish(new ControlCommandError(code, message));
      }
    };
    const splitter = new LineSplitter(MAX_RESPONSE_BYTES);
    socket.on('connect', () => socket.write(`${JSON.stringify({ id: 1, command, args })}\n`));
    socket.on('data', (chunk: Buffer) => {
      if (!splitter.push(chunk, onLine)) finish(unreachable(`the answer on ${path} is longer than ${MAX_RESPONSE_BYTES} bytes`));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(connectError(path, err)));
    socket.on('close', () => finish(unreachable(`the proxy closed the control connection at ${path} without answering`)));
  });
}

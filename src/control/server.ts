// The control server: a UNIX socket through which the CLI manages the running
// proxy. Access control is the file system's: the socket is mode 0600 in a
// directory owned by this process's user and writable by nobody else, so only
// that user (and root) can connect, and nobody else can swap the socket.
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { Errors, PosternError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import {
  isPlainObject,
  isRequestId,
  LineSplitter,
  MAX_REQUEST_BYTES,
  type ControlFailure,
  type ControlRequest,
  type ControlResponse,
  type RequestId,
} from './protocol.js';

/** A command's implementation: validates its own args, throws PosternError for the caller's mistakes. */
export type ControlHandler = (args: Readonly<Record<string, unknown>>) => unknown;
export type ControlHandlers = Readonly<Record<string, ControlHandler>>;

export interface ControlServer {
  readonly path: string;
  /** Stops listening, drops open connections and removes the socket file. */
  close(): Promise<void>;
}

// sun_path is 108 bytes on Linux, one of them the terminating NUL.
const MAX_SOCKET_PATH_BYTES = 107;
const PROBE_TIMEOUT_MS = 1_000;

function unavailable(detail: string, cause?: unknown): PosternError {
  return new PosternError(Errors.CONTROL_SOCKET_UNAVAILABLE, detail, cause === undefined ? undefined : { cause });
}

/** The directory must exist (it is created 0700 if missing), belong to us and be writable by no one else. */
function checkDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw unavailable(`cannot create ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, err);
  }
  const st = statSync(dir);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw unavailable(`${dir} belongs to uid ${st.uid}, not to this process (uid ${uid}): set control_socket to a path in a directory this user owns`);
  }
  if ((st.mode & 0o022) !== 0) {
    throw unavailable(`${dir} is writable by other users (mode ${(st.mode & 0o777).toString(8)}): set control_socket to a path in a private directory`);
  }
}

/** Resolves true when something accepts connections on the socket, false when nothing listens there. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolvePromise, reject) => {
    const socket = createConnection(path);
    socket.setTimeout(PROBE_TIMEOUT_MS);
    const done = (result: boolean | Error): void => {
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolvePromise(result);
    };
    socket.on('connect', () => done(true));
    // A live process with a full backlog times out or says EAGAIN: it is still live.
    socket.on('timeout', () => done(true));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done(false);
      else if (err.code === 'EAGAIN') done(true);
      else done(unavailable(`cannot probe the existing socket ${path}: ${err.code ?? err.message}`, err));
    });
  });
}

/** Removes a socket file that nobody answers on (left by a crash); refuses when a live process owns it or it is not a socket. */
async function removeStaleSocket(path: string, logger: Logger): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw unavailable(`cannot inspect ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, err);
  }
  if (!st.isSocket()) throw unavailable(`${path} exists and is not a socket; remove it or set control_socket elsewhere`);
  if (await answers(path)) throw unavailable(`another process is listening on ${path} (is another postern serve running with this configuration?)`);
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unavailable(`cannot remove the stale socket ${path}`, err);
  }
  logger.info({ path }, 'removed a stale control socket');
}

/**
 * Binds with a umask that leaves the socket 0600 from its first moment: a
 * chmod after bind alone would leave a window in which others could connect.
 * The bind of a path happens synchronously inside listen(), so the process
 * umask is restored before any other code runs.
 */
function listenPrivately(server: Server, path: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        err.code === 'EADDRINUSE'
          ? unavailable(`another process took ${path} while this one started`, err)
          : unavailable(`cannot listen on ${path}: ${err.code ?? err.message}`, err),
      );
    };
    server.once('error', onError);
    const previous = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolvePromise();
      });
    } finally {
      process.umask(previous);
    }
  });
}

function failureOf(err: unknown): ControlFailure {
  if (err instanceof PosternError) return { code: err.code, message: err.message };
  return { code: Errors.INTERNAL.code, message: Errors.INTERNAL.message };
}

function badRequest(id: RequestId | null, detail: string): ControlResponse {
  return { id, ok: false, error: { code: Errors.CONTROL_BAD_REQUEST.code, message: `${Errors.CONTROL_BAD_REQUEST.message}: ${detail}` } };
}

/** A parsed request, or the response that refuses it. */
function parseRequest(line: string): ControlRequest | ControlResponse {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return badRequest(null, 'not a JSON value');
  }
  if (!isPlainObject(value)) return badRequest(null, 'not a JSON object');
  const { id, command, args } = value;
  if (!isRequestId(id)) return badRequest(null, '"id" must be a string or a number');
  if (typeof command !== 'string') return badRequest(id, '"command" must be a string');
  if (args !== undefined && !isPlainObject(args)) return badRequest(id, '"args" must be an object');
  return { id, command, args: args ?? {} };
}

function send(socket: Socket, response: ControlResponse): void {
  if (socket.writable) socket.write(`${JSON.stringify(response)}\n`);
}

export async function startControlServer(socketPath: string, handlers: ControlHandlers, logger: Logger): Promise<ControlServer> {
  const path = resolve(socketPath);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw unavailable(`${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes, the limit for a UNIX socket path`);
  }
  checkDirectory(dirname(path));
  await removeStaleSocket(path, logger);

  const commands = new Map<string, ControlHandler>(Object.entries(handlers));
  commands.set('ping', () => ({ pid: process.pid }));

  const run = async (socket: Socket, request: ControlRequest): Promise<void> => {
    const handler = commands.get(request.command);
    if (handler === undefined) {
      send(socket, badRequest(request.id, `unknown command ${JSON.stringify(request.command.slice(0, 64))}`));
      return;
    }
    let response: ControlResponse;
    try {
      response = { id: request.id, ok: true, result: (await handler(request.args)) ?? null };
    } catch (err) {
      if (!(err instanceof PosternError)) logger.error({ err, command: request.command }, 'control command failed');
      response = { id: request.id, ok: false, error: failureOf(err) };
    }
    logger.debug({ command: request.command, ok: response.ok }, 'control command');
    send(socket, response);
  };

  const connections = new Set<Socket>();
  const server = createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    // A client that goes away early is not our problem; an unhandled 'error' would be.
    socket.on('error', (err) => logger.debug({ err }, 'control connection error'));
    const splitter = new LineSplitter(MAX_REQUEST_BYTES);
    const onLine = (line: string): void => {
      if (line.trim() === '') return;
      const parsed = parseRequest(line);
      if ('command' in parsed) void run(socket, parsed);
      else send(socket, parsed);
    };
    socket.on('data', (chunk: Buffer) => {
      if (splitter.push(chunk, onLine)) return;
      send(socket, badRequest(null, `a request line is longer than ${MAX_REQUEST_BYTES} bytes`));
      socket.removeAllListeners('data');
      socket.end();
    });
  });
  await listenPrivately(server, path);
  chmodSync(path, 0o600);
  logger.info({ path }, 'control socket listening');

  let closing: Promise<void> | null = null;
  return {
    path,
    close() {
      // libuv removes the socket file when the server closes.
      closing ??= new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        for (const socket of connections) socket.destroy();
      });
      return closing;
    },
  };
}

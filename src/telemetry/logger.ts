// JSON-lines logger on stdout. Writes are asynchronous: while one write is
// in flight, later lines gather in a buffer and go out together, so a busy
// proxy batches its log writes while a quiet one still shows each line at
// once. flushLogger writes out what is left before the process exits.
import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config/types.js';

export type { Logger };

export function createLogger(level: LogLevel, destination: NodeJS.WritableStream | number = 1): Logger {
  const stream =
    typeof destination === 'number'
      ? pino.destination({ dest: destination, sync: false })
      : destination;
  return pino(
    {
      level,
      base: { service: 'postern' },
      // Pomerium's logs put the message under "message"; keep pino's "msg" so
      // pino tooling works, and name levels as text for humans and log shippers.
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}

/** Writes out whatever the logger still buffers; call before the process exits. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    logger.flush((err) => {
      void err;
      resolve();
    });
  });
}

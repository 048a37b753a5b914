// One connection to Postgres that comes back by itself. The backend keeps
// two: the writer (writes, loads, pruning) and the listener (LISTEN and
// the feed reads). Work runs one task at a time, in the order asked, so a
// multi-statement transaction is never interleaved with another task and
// writes are versioned in the order they were issued. While the connection
// is down a task fails at once with PST_DATABROKER_UNAVAILABLE instead of
// queueing; a task that gets no answer within its deadline destroys the
// socket (a silent network would otherwise hold it for the TCP timeout),
// which fails it and starts the reconnection.
import pg from 'pg';
import { Errors, PosternError } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';
import { reconnectDelay, type Backoff } from './backoff.js';

const CLOSE_GRACE_MS = 1_000;

export type LinkState = 'connecting' | 'up' | 'down' | 'closed';

export interface LinkOptions {
  /** `writer` or `listener`, for logs and errors. */
  readonly role: string;
  /** The DSN and pg's connection settings. */
  readonly config: pg.ClientConfig;
  /** Safe description of the server (see target.ts). */
  readonly target: string;
  readonly logger: Logger;
  readonly backoff: Backoff;
  /** Runs on every new connection before it counts as up (migrations, LISTEN). */
  readonly onConnect: (client: pg.Client) => Promise<void>;
  /** Runs each time the connection comes up (after onConnect). */
  readonly onUp?: () => void;
  /** Runs when an established connection is lost or an attempt fails. */
  readonly onDown?: (err: Error) => void;
}

/** A short, credential-free account of a connection error for logs and health. */
export function errorSummary(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}

export class PgLink {
  readonly #options: LinkOptions;
  #state: LinkState = 'connecting';
  #client: pg.Client | null = null;
  #failure = '';
  #downSince = 0;
  #attempt = 0;
  #retry: NodeJS.Timeout | null = null;
  #tail: Promise<unknown> = Promise.resolve();
  /** Settles with the outcome of the first attempt. */
  readonly firstConnect: Promise<void>;
  #settleFirst: ((err?: Error) => void) | null;

  constructor(options: LinkOptions) {
    this.#options = options;
    let settle!: (err?: Error) => void;
    this.firstConnect = new Promise<void>((resolve, reject) => {
      settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    // The caller may only look at firstConnect later (or never, for the listener).
    this.firstConnect.catch(() => undefined);
    this.#settleFirst = settle;
    void this.#connect();
  }

  get state(): LinkState {
    return this.#state;
  }

  /** `connected` or why not, for health. */
  get detail(): string {
    if (this.#state === 'up') return 'connected';
    if (this.#state === 'connecting') return 'connecting';
    if (this.#state === 'closed') return 'closed';
    return `unreachable since ${new Date(this.#downSince).toISOString()} (${this.#failure}); retrying`;
  }

  /**
   * Runs `task` with the connection, after the tasks asked before it. Fails
   * at once when the connection is not up; fails and drops the connection
   * when the task takes longer than `deadlineMs`.
   */
  run<T>(deadlineMs: number, task: (client: pg.Client) => Promise<T>): Promise<T> {
    if (this.#state !== 'up') return Promise.reject(this.#unavailable());
    const result = this.#tail.then(() => this.#execute(deadlineMs, task));
    this.#tail = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    this.#state = 'closed';
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
    this.#settleFirst?.(new Error(`postgres ${this.#options.role}: closed before connecting`));
    this.#settleFirst = null;
    const client = this.#client;
    this.#client = null;
    if (client === null) return;
    // end() waits for the server to close; a silent network must not hold the shutdown.
    const giveUp = setTimeout(() => client.connection.stream.destroy(), CLOSE_GRACE_MS);
    await client.end().catch(() => undefined);
    clearTimeout(giveUp);
  }

  async #execute<T>(deadlineMs: number, task: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = this.#client;
    if (this.#state !== 'up' || client === null) throw this.#unavailable();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // Ends every query on this connection with an error and fires 'end', which starts the reconnection.
      client.connection.stream.destroy();
    }, deadlineMs);
    try {
      return await task(client);
    } catch (err) {
      if (timedOut) throw new PosternError(Errors.DATABROKER_UNAVAILABLE, `${this.#describe()}: no answer within ${deadlineMs} ms`, { cause: err });
      // A lost connection has already been replaced (pg reports it before it fails the queries).
      if (client !== this.#client || isServerUnavailable(err)) {
        throw new PosternError(Errors.DATABROKER_UNAVAILABLE, `${this.#describe()}: connection lost (${errorSummary(err)})`, { cause: err });
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async #connect(): Promise<void> {
    this.#retry = null;
    if (this.#state === 'closed') return;
    // The DSN was parsed once before the link was made (see openPostgresBackend), so this does not throw.
    const client = new pg.Client(this.#options.config);
    this.#client = client;
    // Without an 'error' listener pg's error on an idle connection would crash the process.
    client.on('error', (err: Error) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await this.#options.onConnect(client);
    } catch (err) {
      this.#lost(client, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (this.#client !== client) return;
    const wasDown = this.#state === 'down';
    this.#state = 'up';
    this.#attempt = 0;
    if (wasDown) {
      this.#options.logger.info(
        { role: this.#options.role, target: this.#options.target, downMs: Date.now() - this.#downSince },
        'databroker postgres connection restored',
      );
    } else {
      this.#options.logger.info({ role: this.#options.role, target: this.#options.target }, 'databroker postgres connected');
    }
    this.#settleFirst?.();
    this.#settleFirst = null;
    this.#options.onUp?.();
  }

  #lost(client: pg.Client, err: Error): void {
    if (this.#client !== client || this.#state === 'closed') return;
    this.#client = null;
    client.removeAllListeners('end');
    // Keep swallowing late errors from the dead client.
    client.on('error', () => undefined);
    client.connection.stream.destroy();
    const summary = errorSummary(err);
    if (this.#state !== 'down') {
      this.#downSince = Date.now();
      this.#options.logger.warn(
        { role: this.#options.role, target: this.#options.target, error: summary },
        this.#state === 'up' ? 'databroker postgres connection lost' : 'databroker postgres connection failed',
      );
    } else {
      this.#options.logger.debug({ role: this.#options.role, target: this.#options.target, error: summary }, 'databroker postgres still unreachable');
    }
    this.#state = 'down';
    this.#failure = summary;
    if (this.#settleFirst !== null) {
      // A refusal of our own (a schema too new) says more than "unavailable".
      this.#settleFirst(err instanceof PosternError ? err : new PosternError(Errors.DATABROKER_UNAVAILABLE, `${this.#describe()}: ${summary}`, { cause: err }));
      this.#settleFirst = null;
    }
    this.#options.onDown?.(err);
    this.#attempt++;
    this.#retry = setTimeout(() => void this.#connect(), reconnectDelay(this.#options.backoff, this.#attempt, Math.random()));
    this.#retry.unref();
  }

  #describe(): string {
    return `postgres ${this.#options.role} ${this.#options.target}`;
  }

  #unavailable(): PosternError {
    return new PosternError(Errors.DATABROKER_UNAVAILABLE, `${this.#describe()}: ${this.detail}`);
  }
}

/** SQLSTATEs that mean the server gave up on the connection or the statement, not that the statement is wrong. */
function isServerUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  // Class 08: connection exceptions; 57P0x: the server shutting down; 57014: statement_timeout.
  return typeof code === 'string' && (code.startsWith('08') || code.startsWith('57P0') || code === '57014');
}

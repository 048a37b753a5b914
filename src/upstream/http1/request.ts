// One request through the pool, from dispatch to its end: the controller its
// handler holds (abort, pause, resume) and the guarantee that the handler
// hears exactly one ending, whichever of the response, an error or an abort
// comes first.
import type { DispatchController, DispatchHandler, DispatchOptions } from './dispatch.js';
import type { RequestHead } from './request-head.js';
import type { Http1Connection } from './connection.js';

export interface RequestQueue {
  /** Forgets a request that was waiting for a connection. */
  dequeue(request: UpstreamRequest): void;
}

export class UpstreamRequest implements DispatchController {
  readonly options: DispatchOptions;
  readonly handler: DispatchHandler;
  readonly head: RequestHead;
  readonly #queue: RequestQueue;
  /** The connection carrying the request; null while it waits for one, and after its end. */
  connection: Http1Connection | null = null;
  #aborted = false;
  #paused = false;
  #reason: Error | null = null;
  /** The handler has heard the end (or an error). */
  #settled = false;

  constructor(queue: RequestQueue, options: DispatchOptions, handler: DispatchHandler, head: RequestHead) {
    this.#queue = queue;
    this.options = options;
    this.handler = handler;
    this.head = head;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  abort(reason: Error): void {
    if (this.#settled) return;
    this.#aborted = true;
    this.#reason = reason;
    const connection = this.connection;
    if (connection !== null) connection.abort(this);
    else this.#queue.dequeue(this);
    this.fail(reason);
  }

  pause(): void {
    if (this.#paused || this.#settled) return;
    this.#paused = true;
    this.connection?.pauseReading(this);
  }

  resume(): void {
    if (!this.#paused || this.#settled) return;
    this.#paused = false;
    this.connection?.resumeReading(this);
  }

  /** The response ended; the caller tells the handler. */
  settle(): void {
    this.#settled = true;
  }

  /** Ends the request with an error, unless it has already ended. */
  fail(err: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    this.connection = null;
    this.handler.onResponseError(this, err);
  }
}

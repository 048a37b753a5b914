// A response answered after an await: uWS must hear of an abort handler
// before the request handler returns, and every later write must be corked
// and skipped if the client has gone.
import type { HttpResponse } from 'uWebSockets.js';
import { writeResponse } from './respond.js';

export class AsyncResponse {
  readonly #res: HttpResponse;
  #aborted = false;
  #done = false;

  constructor(res: HttpResponse) {
    this.#res = res;
    res.onAborted(() => {
      this.#aborted = true;
    });
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Writes the whole response once; false when the client had already gone. */
  send(status: number, headers: readonly string[], body: string, closeConnection: boolean, headOnly: boolean): boolean {
    if (this.#aborted || this.#done) return false;
    this.#done = true;
    this.#res.cork(() => writeResponse(this.#res, status, headers, body, closeConnection, headOnly));
    return true;
  }
}

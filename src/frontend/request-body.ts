// A request body streamed from uWS into a Readable that the upstream
// client (upstream/http1) sends on. Backpressure runs both ways: when the
// Readable's buffer is full the client connection is paused, and the
// client's reads resume it. The body is
// never held whole in memory.
import { Readable } from 'node:stream';
import type { HttpResponse } from 'uWebSockets.js';

const HIGH_WATER_MARK = 256 * 1024;

export class RequestBody extends Readable {
  readonly #res: HttpResponse;
  #paused = false;
  #complete = false;
  /** Bytes received so far. */
  received = 0;

  constructor(res: HttpResponse) {
    super({ highWaterMark: HIGH_WATER_MARK });
    this.#res = res;
    res.onData((chunk, isLast) => this.#onData(chunk, isLast));
  }

  get complete(): boolean {
    return this.#complete;
  }

  #onData(chunk: ArrayBuffer, isLast: boolean): void {
    if (this.destroyed) return;
    this.received += chunk.byteLength;
    // uWS neuters the ArrayBuffer when this callback returns: copy it.
    const more = chunk.byteLength === 0 ? true : this.push(Buffer.from(chunk.slice(0)));
    if (isLast) {
      this.#complete = true;
      this.push(null);
      return;
    }
    if (!more && !this.#paused) {
      this.#paused = true;
      this.#res.pause();
    }
  }

  override _read(): void {
    if (this.#paused) {
      this.#paused = false;
      // The response may already be finished or aborted (the upstream
      // answered without reading everything); the Exchange destroys this
      // stream in that case, so a live stream means a live response.
      this.#res.resume();
    }
  }
}

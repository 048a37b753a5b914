// The dispatch handler of the undici and HTTP/1.1-pool relays (both pools
// take the same handler shape): the upstream's status and body relayed, no
// header looked at, the body sent once the upstream has finished.
import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from 'uWebSockets.js';

export function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`;
}

export function badGateway(res: HttpResponse): void {
  res.cork(() => res.writeStatus('502 Bad Gateway').end());
}

/** One exchange over dispatch(): the handler is the exchange, as in Postern. */
export class RelayHandler {
  readonly #res: HttpResponse;
  #aborted = false;
  #status = 0;
  readonly #chunks: Buffer[] = [];

  constructor(res: HttpResponse) {
    this.#res = res;
    res.onAborted(() => {
      this.#aborted = true;
    });
  }

  // undici reads a handler as one of its new API only when it has this method.
  onRequestStart(): void {}

  onResponseStart(_controller: unknown, status: number): void {
    this.#status = status;
  }

  onResponseData(_controller: unknown, chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#aborted) return;
    const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#res.cork(() => this.#res.writeStatus(statusLine(this.#status)).end(body));
  }

  onResponseError(): void {
    if (!this.#aborted) badGateway(this.#res);
  }
}

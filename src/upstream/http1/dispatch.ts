// The contract between the pool and whoever sends a request through it:
// the shape of undici's Dispatcher.dispatch with its newer handler API, cut
// down to what Postern uses, so the exchange does not care which client
// carries its request.
import type { Readable } from 'node:stream';
import type { ResponseHeaders } from './parser.js';

export interface DispatchOptions {
  /** Origin-form target: path and query. */
  readonly path: string;
  readonly method: string;
  /** Flat `[name, value, …]`, names lower-case; `content-length` frames the body when present. */
  readonly headers: readonly string[];
  /** Sent as it is read, with backpressure; chunked when `headers` has no content-length. */
  readonly body: Readable | null;
  /** Milliseconds from the request's end to the response head; 0 = none. */
  readonly headersTimeout: number;
  /** Longest silence inside the response body, in milliseconds; 0 = none. */
  readonly bodyTimeout: number;
}

export interface DispatchController {
  readonly aborted: boolean;
  readonly paused: boolean;
  readonly reason: Error | null;
  /** Gives up on the request: its connection is closed, onResponseError gets `reason`. */
  abort(reason: Error): void;
  /** Stops reading the response (backpressure from a slow client). */
  pause(): void;
  resume(): void;
}

/** Exactly one of onResponseEnd and onResponseError ends every dispatch. */
export interface DispatchHandler {
  onRequestStart(controller: DispatchController, context: unknown): void;
  onResponseStart(controller: DispatchController, status: number, headers: ResponseHeaders, statusMessage: string): void;
  /** `chunk` is the handler's to keep. */
  onResponseData(controller: DispatchController, chunk: Buffer): void;
  onResponseEnd(controller: DispatchController, trailers: ResponseHeaders): void;
  onResponseError(controller: DispatchController, error: Error): void;
}

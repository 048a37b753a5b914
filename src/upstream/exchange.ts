// One proxied request: the bridge between a uWS response and an upstream
// dispatch. It is the dispatch handler itself (no per-event closures), streams
// the upstream body out with backpressure, and turns upstream failures into
// 502/503/504 pages while nothing has been sent, or into a closed connection
// once the status line is out (a truncated answer must never look complete).
import type { DispatchController, DispatchHandler, DispatchOptions, ResponseHeaders } from './http1/index.js';
import type { HttpResponse } from 'uWebSockets.js';
import { Errors, type ErrorSpec } from '../errors.js';
import type { ProxyRequest } from '../proxy/request.js';
import { headerValue } from '../proxy/request.js';
import { errorResponse, statusLine, writeResponse } from '../frontend/respond.js';
import type { RequestBody } from '../frontend/request-body.js';
import type { AccessRecord } from '../telemetry/access-log.js';
import { buildResponseHeaders, contentLengthOf } from './response-headers.js';
import { upstreamErrorSpec, isRetryableBeforeResponse } from './upstream-errors.js';
import type { RouteRuntime } from './route-runtime.js';
import type { ProxyServices } from '../proxy/services.js';

type Controller = DispatchController;
type UpstreamHeaders = ResponseHeaders;

const CLIENT_ABORTED = new Error('client went away');
const EMPTY = Buffer.alloc(0);
/** Largest piece of a chunked body written at once: with its framing, well inside uWS's 16 KiB cork buffer. */
const CHUNK_PIECE = 8 * 1024;

export class Exchange implements DispatchHandler {
  readonly #res: HttpResponse;
  readonly #req: ProxyRequest;
  readonly #rt: RouteRuntime;
  readonly #services: ProxyServices;
  readonly #record: AccessRecord;
  readonly #options: DispatchOptions;
  readonly #body: RequestBody | null;
  readonly #headOnly: boolean;
  readonly #deadline: number;

  #target = 0;
  /** The balancer counts this exchange against #target until the upstream answer ends. */
  #holdingTarget = false;
  #attempt = 0;
  #controller: Controller | null = null;
  /** The client went away or we closed it; `res` must not be touched again. */
  #gone = false;
  /** The response is complete on the client side (or failed): nothing more to do. */
  #finished = false;

  // Response state, between onResponseStart and the flush of the head.
  #status = 0;
  #headers: string[] | null = null;
  #length = -1;
  #headSent = false;
  #flushScheduled = false;
  #upstreamDone = false;

  // Body chunks not yet handed to uWS, and backpressure state.
  readonly #queue: Buffer[] = [];
  #blocked = false;
  /** The upstream was paused for backpressure and has not been resumed. */
  #upstreamPaused = false;
  #partial: Buffer | null = null;
  #partialOffset = 0;
  #readTimer: NodeJS.Timeout | null = null;

  constructor(
    res: HttpResponse,
    req: ProxyRequest,
    rt: RouteRuntime,
    services: ProxyServices,
    record: AccessRecord,
    options: DispatchOptions,
    body: RequestBody | null,
    readTimeoutMs: number,
    /** Whole-exchange deadline in ms from the start of the request; 0 = none. */
    limitMs: number,
  ) {
    this.#res = res;
    this.#req = req;
    this.#rt = rt;
    this.#services = services;
    this.#record = record;
    this.#options = options;
    this.#body = body;
    this.#headOnly = req.method === 'HEAD';
    this.#deadline = limitMs > 0 ? record.startedAt + limitMs : Infinity;
    services.lifecycle.begin();
    res.onAborted(() => this.#onClientAborted());
    res.onWritable((offset) => this.#onWritable(offset));
    if (body) {
      // Errors of the body stream reach us through the pool; this listener
      // only keeps an aborted upload from becoming an uncaught 'error'.
      body.on('error', () => {});
      if (readTimeoutMs > 0) {
        // timeout_read: the whole request must arrive in time (Envoy's
        // request_timeout), so a trickling upload cannot hold a slot forever.
        this.#readTimer = setTimeout(() => {
          if (!body.complete) this.#fail(Errors.REQUEST_TIMEOUT, null);
        }, readTimeoutMs);
        this.#readTimer.unref();
      }
    }
  }

  /** Sends the request to the target the balancer picked. */
  start(target: number, dispatchOptions: DispatchOptions): void {
    this.#target = target;
    this.#holdingTarget = true;
    this.#rt.balancer.started(target);
    this.#record.upstreamCluster = this.#rt.route.name;
    try {
      this.#rt.pools[target]!.dispatch(dispatchOptions, this);
    } catch (err) {
      this.onResponseError(null, err as Error);
    }
  }

  // upstream handler -------------------------------------------------------

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.#gone) controller.abort(CLIENT_ABORTED);
  }

  onResponseStart(controller: Controller, status: number, headers: UpstreamHeaders): void {
    if (this.#gone) {
      controller.abort(CLIENT_ABORTED);
      return;
    }
    this.#status = status;
    this.#headers = buildResponseHeaders(headers, this.#rt.route, this.#req.requestId);
    const length = contentLengthOf(headers);
    this.#length = length ?? -1;
    // Head and (small) body usually arrive in the same socket read, and
    // the pool parses the whole read synchronously. Writing the head in a
    // microtask lets a short response go out as one corked write with its
    // body, while a head followed by a slow body is still sent at once.
    this.#flushScheduled = true;
    queueMicrotask(() => this.#flush());
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.#gone) return;
    this.#record.size += chunk.length;
    this.#queue.push(chunk);
    // Before the head is out, or while uWS is still draining an earlier
    // chunk, the chunk waits in order; the flush or onWritable writes it.
    if (!this.#headSent || this.#blocked) return;
    if (performance.now() > this.#deadline) {
      this.#fail(Errors.UPSTREAM_TIMEOUT, null);
      return;
    }
    this.#write();
  }

  onResponseEnd(): void {
    this.#upstreamDone = true;
    this.#releaseTarget();
    if (this.#gone || this.#finished || !this.#headSent || this.#blocked) return;
    this.#write();
  }

  onResponseError(_controller: Controller | null, err: Error): void {
    this.#releaseTarget();
    if (this.#gone || this.#finished) return;
    if (!this.#headSent && !this.#flushScheduled) {
      if (this.#attempt === 0 && isRetryableBeforeResponse(err, this.#req.method, this.#body)) {
        // A kept-alive upstream connection closed just as we reused it: the
        // request never reached the application, so sending it again is safe.
        this.#attempt++;
        this.start(this.#target, this.#options);
        return;
      }
    }
    this.#fail(upstreamErrorSpec(err), err);
  }

  // uWS side -------------------------------------------------------------

  #onClientAborted(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#body?.destroy();
    this.#controller?.abort(CLIENT_ABORTED);
    if (!this.#finished) {
      this.#finished = true;
      this.#record.status = this.#headSent ? this.#status : 0;
      this.#record.details = 'downstream_remote_disconnect';
      this.#done();
    }
  }

  #onWritable(offset: number): boolean {
    if (this.#gone || this.#finished || !this.#blocked) return true;
    const partial = this.#partial;
    if (partial !== null) {
      // Known length: tryEnd took only part of the chunk; offer the rest.
      const [ok, done] = this.#res.tryEnd(partial.subarray(offset - this.#partialOffset), this.#length);
      if (done) {
        this.#complete();
        return true;
      }
      if (!ok) return false;
      this.#partial = null;
    }
    this.#blocked = false;
    if (this.#length < 0) {
      // Chunked: write from a fresh turn of the loop, where each piece gets
      // a cork of its own (see #pumpChunked), not inside this callback.
      setImmediate(() => this.#pumpChunked());
      return true;
    }
    this.#pump();
    if (!this.#blocked) this.#controller?.resume();
    return this.#partial === null;
  }

  // Writing --------------------------------------------------------------

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#gone || this.#finished) return;
    this.#res.cork(() => this.#writeHead());
    if (this.#length < 0) this.#pumpChunked();
  }

  /** Writes what is queued: known-length bodies in one cork, chunked ones piece by piece. */
  #write(): void {
    if (this.#length < 0) this.#pumpChunked();
    else this.#res.cork(() => this.#pump());
  }

  #writeHead(): void {
    const res = this.#res;
    const status = this.#status;
    res.writeStatus(statusLine(status));
    const headers = this.#headers!;
    for (let i = 0; i < headers.length; i += 2) res.writeHeader(headers[i]!, headers[i + 1]!);
    const draining = this.#services.lifecycle.draining;
    this.#headSent = true;
    this.#record.status = status;
    if (this.#headOnly || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      // No body may follow. uWS v20.30 frames this right only as an explicit
      // Content-Length header plus endWithoutBody() (engineering.md A1.6).
      if (this.#length >= 0 && status !== 204) res.writeHeader('content-length', String(this.#length));
      if (draining) res.writeHeader('connection', 'close');
      // Called with no argument at all: v20.30 reads an explicit `undefined`
      // length as NaN and writes "Content-Length: 9223372036854775808".
      res.endWithoutBody();
      this.#record.size = 0;
      // Any bytes the upstream still sends are ignored (#gone), and its
      // connection stays reusable: aborting would close it.
      this.#complete();
      return;
    }
    if (draining) res.writeHeader('connection', 'close');
    if (this.#queue.length === 0 && this.#length > 0 && !this.#upstreamDone) {
      // uWS ends the header section only with the first body write. An
      // upstream that commits to a response before its body (a long poll)
      // must be seen by the client now: an empty tryEnd sends the head with
      // its Content-Length. A chunked head cannot be pushed out this way (an
      // empty write sends nothing); it leaves with the first body bytes.
      res.tryEnd(EMPTY, this.#length);
    }
    // A chunked body is written after this cork, by #flush.
    if (this.#length >= 0) this.#pump();
  }

  /**
   * Writes queued chunks in order until the queue is empty or uWS pushes
   * back, then ends the response if the upstream has finished. The caller
   * has corked (or is uWS's own writable callback).
   */
  #pump(): void {
    const res = this.#res;
    const queue = this.#queue;
    while (queue.length > 0) {
      const chunk = queue.shift()!;
      const offset = res.getWriteOffset();
      const [ok, done] = res.tryEnd(chunk, this.#length);
      if (done) {
        this.#complete();
        return;
      }
      if (!ok) {
        // uWS took what the socket accepted and kept nothing: remember the
        // chunk and where it started, onWritable offers the remainder.
        this.#partial = chunk;
        this.#partialOffset = offset;
        this.#block();
        return;
      }
    }
    if (this.#upstreamDone) this.#endBody();
  }

  /**
   * Chunked bodies, written piece by piece, each piece in a cork of its own
   * and small enough to fit uWS's 16 KiB cork buffer with its framing.
   * uWS v20.30 loses data when a write does not fit the cork buffer and
   * flushing what is already corked (the chunk's size line) meets a full
   * socket: it reports backpressure but never buffers the new bytes (fixed
   * upstream in C++ v20.77, "Buffer optional uncork data after failure to
   * flush already corked data"). A piece that fits is copied into the cork
   * buffer whole, and a partial flush of the cork buffer is buffered
   * correctly. Called outside any cork.
   */
  #pumpChunked(): void {
    if (this.#gone || this.#finished || !this.#headSent || this.#blocked) return;
    const res = this.#res;
    const queue = this.#queue;
    while (queue.length > 0) {
      const chunk = queue[0]!;
      let piece = chunk;
      if (chunk.length > CHUNK_PIECE) {
        piece = chunk.subarray(0, CHUNK_PIECE);
        queue[0] = chunk.subarray(CHUNK_PIECE);
      } else {
        queue.shift();
      }
      let ok = true;
      res.cork(() => {
        ok = res.write(piece);
      });
      if (!ok) {
        // uWS buffered the piece; wait for it to drain.
        this.#block();
        return;
      }
    }
    if (this.#upstreamDone) res.cork(() => this.#endBody());
    else if (this.#upstreamPaused) {
      this.#upstreamPaused = false;
      this.#controller?.resume();
    }
  }

  #block(): void {
    this.#blocked = true;
    this.#upstreamPaused = true;
    this.#controller?.pause();
  }

  #endBody(): void {
    if (this.#finished) return;
    if (this.#length > 0) {
      // the parser rejects bodies shorter than their Content-Length, so a
      // known-length body that did not complete through tryEnd is a bug
      // upstream of us; never let it look complete.
      this.#fail(Errors.UPSTREAM_PROTOCOL, null);
      return;
    }
    this.#res.end(undefined, this.#services.lifecycle.draining);
    this.#complete();
  }

  // Endings --------------------------------------------------------------

  #fail(spec: ErrorSpec, err: Error | null): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#controller?.abort(err ?? new Error(spec.code));
    this.#body?.destroy();
    this.#record.details = spec.code;
    if (err) {
      this.#services.logger.warn(
        { 'request-id': this.#req.requestId, 'upstream-cluster': this.#rt.route.name, error: errorSummary(err) },
        'upstream error',
      );
    }
    if (this.#gone) {
      this.#done();
      return;
    }
    if (this.#headSent) {
      // The status line is out: the only honest signal left is to cut the
      // connection so the client sees a truncated response, not a short one.
      this.#gone = true;
      this.#res.close();
      this.#done();
      return;
    }
    this.#record.status = spec.status;
    this.#record.size = 0;
    const page = errorResponse(
      spec,
      this.#req.requestId,
      headerValue(this.#req.headers, 'accept'),
      headerValue(this.#req.headers, 'content-type'),
      this.#services.config.setResponseHeaders,
    );
    const draining = this.#services.lifecycle.draining;
    this.#gone = true;
    this.#res.cork(() => writeResponse(this.#res, page.status, page.headers, page.body, draining, this.#headOnly));
    this.#done();
  }

  #complete(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#gone = true; // uWS frees the response once it has ended
    this.#record.details ||= 'via_upstream';
    this.#body?.destroy();
    this.#done();
  }

  #releaseTarget(): void {
    if (this.#holdingTarget) {
      this.#holdingTarget = false;
      this.#rt.balancer.finished(this.#target);
    }
  }

  #done(): void {
    if (this.#readTimer) clearTimeout(this.#readTimer);
    this.#services.accessLog.write(this.#record, performance.now());
    this.#services.lifecycle.end();
  }
}

function errorSummary(err: Error): Record<string, unknown> {
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  return { code: e.code ?? e.cause?.code, message: e.message };
}


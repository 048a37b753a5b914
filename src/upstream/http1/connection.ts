// One upstream connection: one request at a time (never pipelined), the
// request body streamed with backpressure, the response parsed as it
// arrives and handed to the request's handler. The connection goes back to
// its pool only after a complete response that allows it, with the request
// sent in full and nothing read beyond the response; anything else closes it.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectOptions } from 'node:tls';
import type { Readable } from 'node:stream';
import { unwatch, watch, type Expiring } from './deadlines.js';
import { Http1Error } from './errors.js';
import { ResponseParser, type ResponseHead, type ResponseHeaders, type ResponseSink } from './parser.js';
import type { UpstreamRequest } from './request.js';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** TLS settings for https upstreams (ca, cert, key, servername, rejectUnauthorized); null for http. */
  readonly tls: TlsConnectOptions | null;
  readonly connectTimeoutMs: number;
  readonly keepAliveMs: number;
}

export interface ConnectionOwner {
  /** The connection finished a request and may take another. */
  released(connection: Http1Connection): void;
  /** The connection is closed for good. */
  closed(connection: Http1Connection): void;
}

/**
 * Plain-TCP connections read into this one buffer (onread): each read is
 * parsed before the next can start, and body bytes are copied out before
 * they reach a handler, which saves a Buffer per read.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
const CHUNK_END = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';

/** What the one timer of a connection is waiting for; IDLE closes a kept-alive connection nobody used. */
type TimerKind = 'H1_CONNECT_TIMEOUT' | 'H1_HEADERS_TIMEOUT' | 'H1_BODY_TIMEOUT' | 'IDLE';

const enum Phase {
  Idle,
  /** The request is being written; no response byte yet. */
  Sending,
  /** The request is written; waiting for the head. */
  AwaitingHead,
  Body,
}

export class Http1Connection implements ResponseSink, Expiring {
  readonly #socket: Socket;
  readonly #owner: ConnectionOwner;
  readonly #endpoint: Endpoint;
  readonly #parser: ResponseParser;
  /** Body chunks are views of READ_BUFFER and must be copied. */
  readonly #sharedReads: boolean;
  #connected = false;
  #closed = false;
  #socketError: Error | null = null;
  /** Responses completed on this connection: above 0, it is a reused one. */
  #served = 0;
  #request: UpstreamRequest | null = null;
  #phase = Phase.Idle;
  #keepAlive = false;
  #requestWritten = false;
  #body: Readable | null = null;
  /** When the current timer (#timerKind) expires, in performance.now() time; Infinity for none. */
  deadline = Infinity;
  #timerKind: TimerKind | null = null;

  constructor(endpoint: Endpoint, owner: ConnectionOwner) {
    this.#endpoint = endpoint;
    this.#owner = owner;
    this.#parser = new ResponseParser(this);
    const tls = endpoint.tls;
    if (tls === null) {
      this.#sharedReads = true;
      this.#socket = netConnect({
        host: endpoint.host,
        port: endpoint.port,
        noDelay: true,
        onread: { buffer: READ_BUFFER, callback: (n: number, buf: Uint8Array) => this.#onRead(n, buf) },
      });
      this.#socket.once('connect', () => this.#onConnect());
    } else {
      this.#sharedReads = false;
      this.#socket = tlsConnect({ ...tls, host: endpoint.host, port: endpoint.port, ALPNProtocols: ['http/1.1'] });
      this.#socket.setNoDelay(true);
      this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
      this.#socket.once('secureConnect', () => this.#onConnect());
    }
    this.#socket.on('error', (err) => {
      this.#socketError ??= err;
    });
    this.#socket.on('end', () => this.#onEnd());
    this.#socket.on('close', () => this.#onClose());
    watch(this);
    this.#arm(endpoint.connectTimeoutMs, 'H1_CONNECT_TIMEOUT');
  }

  /** Sends `request` (the connection is idle, or still connecting for it). */
  run(request: UpstreamRequest): void {
    this.#request = request;
    request.connection = this;
    this.#phase = Phase.Sending;
    this.#keepAlive = false;
    this.#requestWritten = false;
    this.#parser.expect(request.options.method === 'HEAD');
    if (!this.#connected) return;
    this.#clearTimer();
    this.#socket.ref();
    this.#send();
  }

  /** The request's handler gave up: the connection is closed, with nothing more said to the handler. */
  abort(request: UpstreamRequest): void {
    if (this.#request !== request) return;
    this.#detach();
    this.#socket.destroy();
  }

  pauseReading(request: UpstreamRequest): void {
    if (this.#request !== request) return;
    this.#socket.pause();
    // A client that reads slowly is not an upstream that went silent.
    if (this.#timerKind === 'H1_BODY_TIMEOUT') this.#clearTimer();
  }

  resumeReading(request: UpstreamRequest): void {
    if (this.#request !== request) return;
    this.#socket.resume();
    if (this.#phase === Phase.Body && this.#timerKind === null) this.#arm(request.options.bodyTimeout, 'H1_BODY_TIMEOUT');
  }

  destroy(): void {
    this.#socket.destroy();
  }

  // Sending --------------------------------------------------------------

  #onConnect(): void {
    this.#connected = true;
    this.#clearTimer();
    if (this.#request !== null) this.#send();
  }

  #send(): void {
    const request = this.#request!;
    const socket = this.#socket;
    const body = request.options.body;
    socket.write(request.head.text, 'latin1');
    if (body === null) {
      this.#requestSent();
      return;
    }
    this.#body = body;
    const chunked = request.head.contentLength === -1;
    const declared = request.head.contentLength;
    let written = 0;
    const onData = (chunk: Buffer): void => {
      written += chunk.length;
      if (!chunked && written > declared) {
        this.#failRequest(new Http1Error('H1_REQUEST_BODY', 'request body longer than its content-length'));
        return;
      }
      let ok: boolean;
      if (chunked) {
        if (chunk.length === 0) return;
        socket.cork();
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        socket.write(chunk);
        ok = socket.write(CHUNK_END, 'latin1');
        socket.uncork();
      } else {
        ok = socket.write(chunk);
      }
      if (!ok) body.pause();
    };
    const onDrain = (): void => {
      body.resume();
    };
    const onEnd = (): void => {
      cleanup();
      if (!chunked && written !== declared) {
        this.#failRequest(new Http1Error('H1_REQUEST_BODY', 'request body shorter than its content-length'));
        return;
      }
      if (chunked) socket.write(LAST_CHUNK, 'latin1');
      this.#requestSent();
    };
    const onError = (err: Error): void => {
      cleanup();
      this.#failRequest(new Http1Error('H1_REQUEST_BODY', 'request body failed', err));
    };
    const onClose = (): void => {
      cleanup();
      this.#failRequest(new Http1Error('H1_REQUEST_BODY', 'request body closed before its end'));
    };
    const cleanup = (): void => {
      this.#body = null;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      socket.off('drain', onDrain);
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
    socket.on('drain', onDrain);
  }

  #requestSent(): void {
    this.#requestWritten = true;
    // Still Sending: no response byte yet (an early answer needs no head timer).
    if (this.#phase === Phase.Sending) {
      this.#phase = Phase.AwaitingHead;
      this.#arm(this.#request!.options.headersTimeout, 'H1_HEADERS_TIMEOUT');
    }
  }

  // Reading --------------------------------------------------------------

  #onRead(n: number, buf: Uint8Array): boolean {
    this.#onData((buf as Buffer).subarray(0, n));
    return true;
  }

  #onData(data: Buffer): void {
    const request = this.#request;
    if (request === null) {
      // Bytes nobody asked for: the connection cannot be trusted any more.
      this.#socket.destroy();
      return;
    }
    let consumed: number;
    try {
      consumed = this.#parser.execute(data);
    } catch (err) {
      this.#failRequest(err as Error);
      return;
    }
    if (this.#request === request && this.#parser.done) this.#finishResponse(consumed === data.length);
  }

  onHead(head: ResponseHead): void {
    const request = this.#request!;
    this.#phase = Phase.Body;
    this.#keepAlive = head.keepAlive;
    this.#clearTimer();
    if (!request.paused) this.#arm(request.options.bodyTimeout, 'H1_BODY_TIMEOUT');
    request.handler.onResponseStart(request, head.status, head.headers, head.reason);
  }

  onBody(chunk: Buffer): void {
    const request = this.#request;
    if (request === null || request.aborted) {
      this.#parser.halt();
      return;
    }
    if (this.#timerKind === 'H1_BODY_TIMEOUT') this.deadline = performance.now() + request.options.bodyTimeout;
    request.handler.onResponseData(request, this.#sharedReads ? Buffer.from(chunk) : chunk);
  }

  onEnd(trailers: ResponseHeaders): void {
    const request = this.#request;
    if (request === null || request.aborted) return;
    this.#clearTimer();
    request.settle();
    request.handler.onResponseEnd(request, trailers);
  }

  /** After the parser ended the response: back to the pool, or closed. */
  #finishResponse(nothingAfter: boolean): void {
    const reusable = nothingAfter && this.#keepAlive && this.#requestWritten && !this.#closed;
    this.#detach();
    this.#served++;
    if (!reusable) {
      this.#socket.destroy();
      return;
    }
    // The handler may have paused reading in the response's last chunk.
    if (this.#socket.isPaused()) this.#socket.resume();
    this.#socket.unref();
    this.#arm(this.#endpoint.keepAliveMs, 'IDLE');
    this.#owner.released(this);
  }

  // Endings --------------------------------------------------------------

  #onEnd(): void {
    const request = this.#request;
    if (request === null || this.#phase !== Phase.Body) return;
    try {
      this.#parser.finish();
    } catch {
      return; // 'close' follows and reports the truncation
    }
    if (this.#request === request && this.#parser.done) {
      this.#detach();
      this.#served++;
      this.#socket.destroy();
    }
  }

  #onClose(): void {
    this.#closed = true;
    unwatch(this);
    this.#clearTimer();
    const request = this.#request;
    if (request !== null) this.#failRequest(this.#closeError());
    this.#owner.closed(this);
  }

  #closeError(): Error {
    const cause = this.#socketError;
    if (!this.#connected) return cause ?? new Http1Error('H1_SOCKET_CLOSED', 'connection closed while connecting');
    if (this.#served > 0 && !this.#parser.started) {
      return new Http1Error('H1_REUSED_CONNECTION_CLOSED', 'kept-alive connection closed before the response', cause ?? undefined);
    }
    return new Http1Error('H1_SOCKET_CLOSED', 'upstream closed the connection before the response ended', cause ?? undefined);
  }

  /** Ends the current request with `err` and closes the connection. */
  #failRequest(err: Error): void {
    const request = this.#request;
    if (request === null) return;
    this.#detach();
    this.#socket.destroy();
    request.fail(err);
  }

  /** Forgets the current request (its body listeners, its timer, the parser). */
  #detach(): void {
    const request = this.#request;
    if (request !== null) request.connection = null;
    this.#request = null;
    this.#phase = Phase.Idle;
    this.#clearTimer();
    this.#parser.halt();
    // A body still being sent keeps its listeners until it ends or closes;
    // they find no request and change nothing. Stop reading it now.
    const body = this.#body;
    if (body !== null) body.pause();
  }

  #arm(ms: number, kind: TimerKind): void {
    if (ms <= 0) {
      this.#clearTimer();
      return;
    }
    this.#timerKind = kind;
    this.deadline = performance.now() + ms;
  }

  #clearTimer(): void {
    this.#timerKind = null;
    this.deadline = Infinity;
  }

  expire(): void {
    const kind = this.#timerKind;
    this.#clearTimer();
    if (kind !== null) this.#onTimeout(kind);
  }

  #onTimeout(code: TimerKind): void {
    if (code === 'IDLE') {
      this.#socket.destroy();
      return;
    }
    const message =
      code === 'H1_CONNECT_TIMEOUT' ? 'upstream connect timed out' : code === 'H1_HEADERS_TIMEOUT' ? 'upstream response head timed out' : 'upstream response body timed out';
    const err = new Http1Error(code, message);
    if (this.#request === null) {
      this.#socketError ??= err;
      this.#socket.destroy();
      return;
    }
    if (!this.#connected) this.#socketError = err;
    this.#failRequest(err);
  }
}

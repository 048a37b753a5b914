// Keep-alive HTTP/1.1 connections to one upstream origin: at most
// `connections` of them, the most recently used idle one taken first (its
// socket is the least likely to have been closed by the upstream), and
// requests queued in order while all are busy.
import { isIP } from 'node:net';
import type { ConnectionOptions as TlsConnectOptions } from 'node:tls';
import { Http1Connection, type ConnectionOwner, type Endpoint } from './connection.js';
import type { DispatchHandler, DispatchOptions } from './dispatch.js';
import { Http1Error } from './errors.js';
import { requestHead, type RequestHead } from './request-head.js';
import { UpstreamRequest, type RequestQueue } from './request.js';

export interface PoolTls {
  readonly ca?: string | readonly string[];
  readonly cert?: string;
  readonly key?: string;
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

export interface PoolOptions {
  readonly connections: number;
  /** How long an idle connection is kept open. */
  readonly keepAliveMs: number;
  readonly connectTimeoutMs: number;
  /** Required for https origins, ignored for http. */
  readonly tls?: PoolTls;
}

export class Http1Pool implements ConnectionOwner, RequestQueue {
  readonly #endpoint: Endpoint;
  readonly #max: number;
  readonly #all = new Set<Http1Connection>();
  /** Idle connections, most recently used last. */
  readonly #idle: Http1Connection[] = [];
  readonly #queue: UpstreamRequest[] = [];
  #closing = false;
  #whenClosed: (() => void) | null = null;

  constructor(origin: string, options: PoolOptions) {
    const url = new URL(origin);
    const secure = url.protocol === 'https:';
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    let tls: TlsConnectOptions | null = null;
    if (secure) {
      const t = options.tls ?? { rejectUnauthorized: true };
      tls = { rejectUnauthorized: t.rejectUnauthorized };
      const servername = t.servername ?? (isIP(host) === 0 ? host : undefined);
      if (servername !== undefined) tls.servername = servername;
      if (t.ca !== undefined) tls.ca = t.ca as string | string[];
      if (t.cert !== undefined) tls.cert = t.cert;
      if (t.key !== undefined) tls.key = t.key;
    }
    this.#endpoint = {
      host,
      port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
      tls,
      connectTimeoutMs: options.connectTimeoutMs,
      keepAliveMs: options.keepAliveMs,
    };
    this.#max = options.connections;
  }

  /** Starts a request; the handler hears everything, errors included (this never throws). */
  dispatch(options: DispatchOptions, handler: DispatchHandler): boolean {
    let head: RequestHead;
    try {
      head = requestHead(options.method, options.path, options.headers, options.body !== null);
    } catch (err) {
      const rejected = new UpstreamRequest(this, options, handler, { text: '', contentLength: -1 });
      handler.onRequestStart(rejected, null);
      rejected.fail(err as Error);
      return false;
    }
    const request = new UpstreamRequest(this, options, handler, head);
    handler.onRequestStart(request, null);
    if (request.aborted) return true;
    if (this.#closing) {
      request.fail(new Http1Error('H1_POOL_CLOSED', 'the upstream pool is closed'));
      return false;
    }
    this.#start(request);
    return true;
  }

  /** Closes the pool once every request started or queued has ended. */
  close(): Promise<void> {
    this.#closing = true;
    return new Promise((resolve) => {
      this.#whenClosed = resolve;
      this.#closeIfDone();
    });
  }

  /** Closes every connection now; requests in flight or queued fail. */
  destroy(): Promise<void> {
    this.#closing = true;
    const queued = this.#queue.splice(0);
    for (const request of queued) request.fail(new Http1Error('H1_POOL_CLOSED', 'the upstream pool was destroyed'));
    for (const c of this.#all) c.destroy();
    return new Promise((resolve) => {
      this.#whenClosed = resolve;
      this.#closeIfDone();
    });
  }

  // ConnectionOwner --------------------------------------------------------

  released(connection: Http1Connection): void {
    const next = this.#queue.shift();
    if (next !== undefined) {
      connection.run(next);
      return;
    }
    this.#idle.push(connection);
    this.#closeIfDone();
  }

  closed(connection: Http1Connection): void {
    this.#all.delete(connection);
    const at = this.#idle.indexOf(connection);
    if (at !== -1) this.#idle.splice(at, 1);
    if (this.#queue.length > 0 && this.#all.size < this.#max) this.#open(this.#queue.shift()!);
    this.#closeIfDone();
  }

  // RequestQueue -----------------------------------------------------------

  dequeue(request: UpstreamRequest): void {
    const at = this.#queue.indexOf(request);
    if (at !== -1) this.#queue.splice(at, 1);
    this.#closeIfDone();
  }

  // ------------------------------------------------------------------------

  #start(request: UpstreamRequest): void {
    const idle = this.#idle.pop();
    if (idle !== undefined) {
      idle.run(request);
    } else if (this.#all.size < this.#max) {
      this.#open(request);
    } else {
      this.#queue.push(request);
    }
  }

  #open(request: UpstreamRequest): void {
    const connection = new Http1Connection(this.#endpoint, this);
    this.#all.add(connection);
    connection.run(request);
  }

  #closeIfDone(): void {
    if (!this.#closing || this.#whenClosed === null) return;
    // Every connection not idle is carrying a request (or closing).
    if (this.#queue.length > 0 || this.#all.size > this.#idle.length) return;
    for (const c of this.#idle) c.destroy();
    if (this.#all.size > 0) return;
    const resolve = this.#whenClosed;
    this.#whenClosed = null;
    resolve();
  }
}

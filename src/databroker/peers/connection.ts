// One authenticated peer connection, either side: frames in and out, a
// heartbeat both ways, and one close path. Whatever the peer sends (a frame
// too large, bytes that are not JSON, a message the handler rejects) ends
// this connection and nothing else; the process never sees an exception.
import type { TLSSocket } from 'node:tls';
import { encodeFrame, FrameDecoder } from './frames.js';

export interface PeerConnectionOptions {
  readonly maxFrameBytes: number;
  readonly heartbeatMs: number;
  /** Handles one decoded frame; throwing closes the connection with the error's message. */
  readonly onMessage: (value: unknown) => void;
  /** The socket accepts more after having queued past its high-water mark. */
  readonly onDrain: () => void;
  /** Called once, when the socket has closed, with why. */
  readonly onClose: (reason: string) => void;
}

/** A message that breaks the protocol: the connection that carried it is closed. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const PING = encodeFrame({ t: 'ping' }, 64);
/** Missed heartbeats after which a connection counts as dead. */
const SILENT_INTERVALS = 3;

export class PeerConnection {
  readonly #socket: TLSSocket;
  readonly #options: PeerConnectionOptions;
  readonly #decoder: FrameDecoder;
  readonly #heartbeat: NodeJS.Timeout;
  #lastHeard = Date.now();
  #reason: string | null = null;
  #closed = false;

  constructor(socket: TLSSocket, options: PeerConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#decoder = new FrameDecoder(options.maxFrameBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('drain', () => {
      if (!this.#closed) this.#guard(options.onDrain);
    });
    socket.on('error', (err: Error) => {
      this.#reason ??= err.message;
    });
    socket.once('close', () => {
      this.#closed = true;
      clearInterval(this.#heartbeat);
      options.onClose(this.#reason ?? 'the peer closed the connection');
    });
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs);
    this.#heartbeat.unref();
  }

  #corked = false;

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes queued on the socket and not yet handed to the kernel. */
  get writableLength(): number {
    return this.#socket.writableLength;
  }

  send(message: unknown): void {
    this.sendFrame(encodeFrame(message, this.#options.maxFrameBytes));
  }

  sendFrame(frame: Buffer): void {
    if (this.#closed || this.#socket.destroyed) return;
    // Frames written in one turn of the event loop (a burst of changes to
    // feed, acknowledgements of writes that committed together) leave as one
    // TLS record and one system call instead of one each.
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(frame);
  }

  /** Closes at once; `reason` is what onClose reports. */
  close(reason: string): void {
    this.#reason ??= reason;
    this.#socket.destroy();
  }

  /** Sends a last message, then closes once it is flushed (or after one heartbeat at most). */
  closeAfter(message: unknown, reason: string): void {
    this.#reason ??= reason;
    if (this.#closed || this.#socket.destroyed) return;
    this.#socket.end(encodeFrame(message, this.#options.maxFrameBytes));
    setTimeout(() => this.#socket.destroy(), this.#options.heartbeatMs).unref();
  }

  #receive(chunk: Buffer): void {
    this.#lastHeard = Date.now();
    if (this.#closed) return;
    let messages: unknown[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (err) {
      this.close((err as Error).message);
      return;
    }
    for (const message of messages) {
      if (this.#closed || this.#socket.destroyed) return;
      this.#guard(() => this.#options.onMessage(message));
    }
  }

  #beat(): void {
    const silentFor = Date.now() - this.#lastHeard;
    if (silentFor > SILENT_INTERVALS * this.#options.heartbeatMs) {
      this.close(`nothing received for ${silentFor} ms`);
      return;
    }
    this.sendFrame(PING);
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.close(err instanceof Error ? err.message : String(err));
    }
  }
}

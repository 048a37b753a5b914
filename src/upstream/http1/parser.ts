// The HTTP/1.1 response parser of the upstream client: bytes in, events
// out, no I/O. It is strict where leniency lets a response be read two ways
// (the request-smuggling family): obs-fold, bare LF, bytes outside the
// grammar, more than one Content-Length, any Transfer-Encoding but a lone
// `chunked`, or both framings at once are all errors, never guesses.
// Input may arrive split anywhere; body chunks handed to the sink are views
// of the input and only valid until the sink returns.
import { Http1Error } from './errors.js';

export type ResponseHeaders = Record<string, string | string[]>;

export interface ResponseHead {
  readonly status: number;
  readonly reason: string;
  /** Lower-case names; a repeated field is an array of its values in order. */
  readonly headers: ResponseHeaders;
  /** The connection may carry another request once this response has ended. */
  readonly keepAlive: boolean;
}

export interface ResponseSink {
  /** The final (non-1xx) response head. */
  onHead(head: ResponseHead): void;
  onBody(chunk: Buffer): void;
  onEnd(trailers: ResponseHeaders): void;
}

/** Longest head (status line and fields) accepted: Node's own limit is 16 KiB, Envoy's 60 KiB. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Longest chunk-size line (with extensions) and longest trailer section. */
const MAX_LINE_BYTES = 4 * 1024;

const enum State {
  Head,
  Length,
  UntilClose,
  ChunkSize,
  ChunkData,
  ChunkCr,
  ChunkLf,
  Trailers,
  Done,
  Halted,
}

const LF = 10;
const CR = 13;

// RFC 9110 tchar.
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;
// field-vchar / SP / HTAB, obs-text included (RFC 9110 5.5).
const VALUE_CHAR = new Uint8Array(256);
VALUE_CHAR[9] = 1;
for (let c = 0x20; c <= 0xff; c++) if (c !== 0x7f) VALUE_CHAR[c] = 1;

const CHUNK_EXTENSIONS =
  /^(?:[\t ]*;[\t ]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[\t ]*=[\t ]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t !#-[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"))?)*$/;

function fail(message: string): never {
  throw new Http1Error('H1_INVALID_RESPONSE', message);
}

export class ResponseParser {
  readonly #sink: ResponseSink;
  #state = State.Done;
  #headOnly = false;
  /** Bytes of this response seen so far (interim responses included). */
  #received = 0;
  /** An incomplete head or line, kept across reads. */
  #pending: Buffer | null = null;
  #line = '';
  #sectionBytes = 0;
  #remaining = 0;
  #trailers: ResponseHeaders | null = null;

  constructor(sink: ResponseSink) {
    this.#sink = sink;
  }

  /** Expect the response to a new request; `headOnly` for HEAD, whose response never has a body. */
  expect(headOnly: boolean): void {
    this.#state = State.Head;
    this.#headOnly = headOnly;
    this.#received = 0;
    this.#pending = null;
    this.#line = '';
    this.#remaining = 0;
    this.#trailers = null;
  }

  /** Stops at once; the rest of the input is ignored. For a sink that has given up on the response. */
  halt(): void {
    this.#state = State.Halted;
  }

  /** Whether any byte of the response has arrived. */
  get started(): boolean {
    return this.#received > 0;
  }

  /** The response has ended (onEnd was called). */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /**
   * Consumes `data` and returns how many bytes belong to the response: less
   * than `data.length` only once it has ended (the rest came after it).
   * Throws Http1Error H1_INVALID_RESPONSE.
   */
  execute(data: Buffer): number {
    let i = 0;
    const len = data.length;
    if (this.#state === State.Done || this.#state === State.Halted) return 0;
    this.#received += len;
    while (i < len) {
      switch (this.#state) {
        case State.Head:
          i = this.#head(data, i);
          break;
        case State.Length: {
          const n = Math.min(this.#remaining, len - i);
          this.#remaining -= n;
          const chunk = data.subarray(i, i + n);
          i += n;
          this.#sink.onBody(chunk);
          if (this.#remaining === 0 && this.#state === State.Length) this.#end(null);
          break;
        }
        case State.UntilClose:
          this.#sink.onBody(i === 0 ? data : data.subarray(i));
          i = len;
          break;
        case State.ChunkSize:
          i = this.#chunkSize(data, i);
          break;
        case State.ChunkData: {
          const n = Math.min(this.#remaining, len - i);
          this.#remaining -= n;
          const chunk = data.subarray(i, i + n);
          i += n;
          if (this.#remaining === 0) this.#state = State.ChunkCr;
          this.#sink.onBody(chunk);
          break;
        }
        case State.ChunkCr:
          if (data[i++] !== CR) fail('chunk data not followed by CRLF');
          this.#state = State.ChunkLf;
          break;
        case State.ChunkLf:
          if (data[i++] !== LF) fail('chunk data not followed by CRLF');
          this.#state = State.ChunkSize;
          break;
        case State.Trailers:
          i = this.#trailerLine(data, i);
          break;
        default:
          // Done or halted by the sink: the rest is not this response's.
          if (this.#state === State.Done) this.#received -= len - i;
          return i;
      }
    }
    if ((this.#state as State) === State.Done) this.#received -= len - i;
    return i;
  }

  /** The connection was closed by the upstream: ends a close-delimited body, else throws. */
  finish(): void {
    if (this.#state === State.UntilClose) {
      this.#end(null);
      return;
    }
    if (this.#state !== State.Done && this.#state !== State.Halted) fail('connection closed before the response ended');
  }

  // Head -----------------------------------------------------------------

  #head(data: Buffer, from: number): number {
    let buf = data;
    let scan = from;
    let start = from;
    const pending = this.#pending;
    if (pending !== null) {
      buf = Buffer.concat([pending, data.subarray(from)]);
      scan = pending.length;
      start = 0;
      this.#pending = null;
    }
    const end = findSectionEnd(buf, scan, start);
    if (end === -1) {
      if (buf.length - start > MAX_HEAD_BYTES) fail('response head too large');
      this.#pending = Buffer.from(buf.subarray(start));
      return data.length;
    }
    if (end - start > MAX_HEAD_BYTES) fail('response head too large');
    const consumed = pending === null ? end : end - pending.length + from;
    const head = parseHead(buf.toString('latin1', start, end - 4));
    if (head.status < 200) {
      // Interim (100-continue, 103 early hints): not forwarded; the real answer follows.
      if (head.status === 101) fail('101 Switching Protocols was not asked for');
      return consumed;
    }
    const framing = bodyFraming(head, this.#headOnly);
    if (framing === NO_BODY) {
      this.#sink.onHead(head);
      if (this.#state === State.Head) this.#end(null);
    } else if (framing === CHUNKED) {
      this.#state = State.ChunkSize;
      this.#line = '';
      this.#sectionBytes = 0;
      this.#sink.onHead(head);
    } else if (framing === UNTIL_CLOSE) {
      this.#state = State.UntilClose;
      this.#sink.onHead({ status: head.status, reason: head.reason, headers: head.headers, keepAlive: false });
    } else {
      this.#remaining = framing;
      this.#state = State.Length;
      this.#sink.onHead(head);
      if (framing === 0 && this.#state === State.Length) this.#end(null);
    }
    return consumed;
  }

  // Chunked --------------------------------------------------------------

  /** Reads one CRLF-terminated line into `#line`; returns the index after it, or -1 (with all of `data` taken) when it goes on. */
  #readLine(data: Buffer, from: number): number {
    const lf = data.indexOf(LF, from);
    if (lf === -1) {
      this.#sectionBytes += data.length - from;
      if (this.#sectionBytes > MAX_LINE_BYTES) fail('line too long');
      this.#line += data.toString('latin1', from);
      return -1;
    }
    this.#sectionBytes += lf + 1 - from;
    if (this.#sectionBytes > MAX_LINE_BYTES) fail('line too long');
    const line = this.#line + data.toString('latin1', from, lf);
    if (line.length === 0 || line.charCodeAt(line.length - 1) !== CR) fail('bare LF');
    this.#line = line.slice(0, -1);
    return lf + 1;
  }

  #chunkSize(data: Buffer, from: number): number {
    const next = this.#readLine(data, from);
    if (next === -1) return data.length;
    const line = this.#line;
    this.#line = '';
    this.#sectionBytes = 0;
    let digits = 0;
    while (digits < line.length && isHexDigit(line.charCodeAt(digits))) digits++;
    if (digits === 0 || digits > 16) fail('invalid chunk size');
    if (digits < line.length && !CHUNK_EXTENSIONS.test(line.slice(digits))) fail('invalid chunk extension');
    const size = Number.parseInt(line.slice(0, digits), 16);
    if (!Number.isSafeInteger(size)) fail('chunk too large');
    if (size === 0) {
      this.#state = State.Trailers;
      this.#trailers = null;
    } else {
      this.#remaining = size;
      this.#state = State.ChunkData;
    }
    return next;
  }

  #trailerLine(data: Buffer, from: number): number {
    const next = this.#readLine(data, from);
    if (next === -1) return data.length;
    const line = this.#line;
    this.#line = '';
    if (line.length === 0) {
      this.#end(this.#trailers);
      return next;
    }
    const trailers = (this.#trailers ??= Object.create(null) as ResponseHeaders);
    parseField(line, trailers, null);
    return next;
  }

  #end(trailers: ResponseHeaders | null): void {
    this.#state = State.Done;
    this.#pending = null;
    this.#sink.onEnd(trailers ?? NO_TRAILERS);
  }
}

const NO_TRAILERS: ResponseHeaders = Object.freeze(Object.create(null) as ResponseHeaders);

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/**
 * The index just after the CRLF CRLF ending the section that starts at
 * `start`, or -1 when it has not arrived; scanning resumes at `scan`.
 * Every LF must follow a CR: a bare LF would end lines where another
 * parser sees none.
 */
function findSectionEnd(buf: Buffer, scan: number, start: number): number {
  let lf = buf.indexOf(LF, scan);
  while (lf !== -1) {
    if (lf === start || buf[lf - 1] !== CR) fail('bare LF');
    if (lf - start >= 3 && buf[lf - 2] === LF) return lf + 1;
    lf = buf.indexOf(LF, lf + 1);
  }
  return -1;
}

// Head parsing -----------------------------------------------------------

interface ParsedHead extends ResponseHead {
  readonly http10: boolean;
  /** Every Content-Length value (one per field line). */
  readonly contentLengths: readonly string[] | null;
  readonly transferEncoding: string | null;
}

/** Parses a head (status line and field lines, CRLF-separated, without the final empty line). */
function parseHead(text: string): ParsedHead {
  let eol = text.indexOf('\r\n');
  if (eol === -1) eol = text.length;
  const { status, reason, http10 } = parseStatusLine(text.slice(0, eol));
  const headers = Object.create(null) as ResponseHeaders;
  const framing: FramingFields = { contentLengths: null, transferEncoding: null, connection: null };
  let at = eol + 2;
  while (at < text.length) {
    let end = text.indexOf('\r\n', at);
    if (end === -1) end = text.length;
    parseField(text.slice(at, end), headers, framing);
    at = end + 2;
  }
  const tokens = framing.connection === null ? '' : framing.connection.toLowerCase();
  const keepAlive = http10 ? hasToken(tokens, 'keep-alive') && !hasToken(tokens, 'close') : !hasToken(tokens, 'close');
  return { status, reason, headers, keepAlive, http10, contentLengths: framing.contentLengths, transferEncoding: framing.transferEncoding };
}

function parseStatusLine(line: string): { status: number; reason: string; http10: boolean } {
  if (line.length < 12 || !line.startsWith('HTTP/1.') || line.charCodeAt(8) !== 0x20) fail('invalid status line');
  const minor = line.charCodeAt(7);
  if (minor !== 0x30 && minor !== 0x31) fail('unsupported HTTP version');
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const c = line.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) fail('invalid status code');
    status = status * 10 + c;
  }
  if (status < 100 || status > 599) fail('invalid status code');
  let reason = '';
  if (line.length > 12) {
    if (line.charCodeAt(12) !== 0x20) fail('invalid status line');
    reason = line.slice(13);
    for (let i = 0; i < reason.length; i++) if (VALUE_CHAR[reason.charCodeAt(i)] !== 1) fail('invalid byte in reason phrase');
  }
  return { status, reason, http10: minor === 0x30 };
}

interface FramingFields {
  contentLengths: string[] | null;
  transferEncoding: string | null;
  connection: string | null;
}

/** Adds one `name: value` line to `into`; framing fields are also noted in `framing` when given. */
function parseField(line: string, into: ResponseHeaders, framing: FramingFields | null): void {
  const colon = line.indexOf(':');
  // colon === 0 covers a line starting with SP/HTAB too (obs-fold): not a token.
  if (colon <= 0) fail(line.length > 0 && (line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 9) ? 'obs-fold' : 'invalid field line');
  for (let i = 0; i < colon; i++) if (TCHAR[line.charCodeAt(i)] !== 1) fail('invalid field name');
  let from = colon + 1;
  let to = line.length;
  for (let i = from; i < to; i++) if (VALUE_CHAR[line.charCodeAt(i)] !== 1) fail('invalid byte in field value');
  while (from < to && isOws(line.charCodeAt(from))) from++;
  while (to > from && isOws(line.charCodeAt(to - 1))) to--;
  const name = line.slice(0, colon).toLowerCase();
  const value = line.slice(from, to);
  const prior = into[name];
  if (prior === undefined) into[name] = value;
  else if (typeof prior === 'string') into[name] = [prior, value];
  else prior.push(value);
  if (framing === null) return;
  if (name === 'content-length') (framing.contentLengths ??= []).push(value);
  else if (name === 'transfer-encoding') framing.transferEncoding = framing.transferEncoding === null ? value : `${framing.transferEncoding},${value}`;
  else if (name === 'connection') framing.connection = framing.connection === null ? value : `${framing.connection},${value}`;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 9;
}

function hasToken(list: string, token: string): boolean {
  if (list.length === 0) return false;
  for (const part of list.split(',')) if (part.trim() === token) return true;
  return false;
}

const NO_BODY = -1;
const CHUNKED = -2;
const UNTIL_CLOSE = -3;

/** How the body of a final response is delimited: a length, or one of the constants above. */
function bodyFraming(head: ParsedHead, headOnly: boolean): number {
  const lengths = head.contentLengths;
  const te = head.transferEncoding;
  // Checked even where no body follows: a response that frames itself two
  // ways is broken whatever we would read of it.
  if (lengths !== null && lengths.length > 1) fail('more than one Content-Length');
  if (lengths !== null && te !== null) fail('both Content-Length and Transfer-Encoding');
  let length = -1;
  if (lengths !== null) {
    const v = lengths[0]!;
    if (v.length === 0 || v.length > 15) fail('invalid Content-Length');
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x30 || c > 0x39) fail('invalid Content-Length');
    }
    length = Number(v);
  }
  if (te !== null) {
    // Only a lone `chunked`: any other coding would reach the client without
    // the Transfer-Encoding that names it (it is hop-by-hop), corrupting the body.
    if (head.http10 || te.trim().toLowerCase() !== 'chunked') fail('unsupported Transfer-Encoding');
  }
  if (headOnly || head.status === 204 || head.status === 304) return NO_BODY;
  if (te !== null) return CHUNKED;
  if (length >= 0) return length;
  return UNTIL_CLOSE;
}

// The control protocol: newline-delimited JSON over a local socket. One line
// per message; a request `{id, command, args}` gets one response
// `{id, ok: true, result}` or `{id, ok: false, error: {code, message}}`.
// Lines are bounded so a peer cannot make the proxy buffer without end.

/** Longest request line the proxy reads. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Longest response line a client reads (a list of many service accounts is long). */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export type RequestId = string | number;

export interface ControlRequest {
  readonly id: RequestId;
  readonly command: string;
  readonly args: Readonly<Record<string, unknown>>;
}

export interface ControlFailure {
  readonly code: string;
  readonly message: string;
}

export type ControlResponse =
  | { readonly id: RequestId | null; readonly ok: true; readonly result: unknown }
  | { readonly id: RequestId | null; readonly ok: false; readonly error: ControlFailure };

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function isRequestId(value: unknown): value is RequestId {
  return (typeof value === 'string' && value.length <= 256) || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * Splits a byte stream into lines at `\n` (a `\r` before it is dropped).
 * push() returns false once a line grows past the limit: the stream cannot
 * be resynchronised safely, so the caller ends the connection.
 */
export class LineSplitter {
  readonly #maxBytes: number;
  #parts: Buffer[] = [];
  #size = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  push(chunk: Buffer, onLine: (line: string) => void): boolean {
    let start = 0;
    for (let end = chunk.indexOf(0x0a, start); end !== -1; end = chunk.indexOf(0x0a, start)) {
      const size = this.#size + end - start;
      if (size > this.#maxBytes) return false;
      const tail = chunk.subarray(start, end);
      const line = this.#parts.length === 0 ? tail : Buffer.concat([...this.#parts, tail], size);
      this.#parts = [];
      this.#size = 0;
      start = end + 1;
      const text = line.toString('utf8');
      onLine(text.endsWith('\r') ? text.slice(0, -1) : text);
    }
    if (start < chunk.length) {
      this.#size += chunk.length - start;
      if (this.#size > this.#maxBytes) return false;
      this.#parts.push(chunk.subarray(start));
    }
    return true;
  }
}

// One persistent connection to the proxy, for tests that must show a
// decision is made on every request of a keep-alive connection (a session
// revoked between two requests on the same socket is refused on the second).
// Requests go to 127.0.0.1:<port> with the given Host, one at a time.
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface KeepAliveAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The request went out on a socket an earlier request had used. */
  readonly reusedSocket: boolean;
  json<T = unknown>(): T;
}

export class KeepAliveClient {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1 });
  readonly #port: number;

  constructor(port: number) {
    this.#port = port;
  }

  request(host: string, path: string, headers: Readonly<Record<string, string>> = {}, method = 'GET', timeoutMs = 5_000): Promise<KeepAliveAnswer> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: this.#port, method, path, headers: { host: `${host}:${this.#port}`, ...headers }, agent: this.#agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, reusedSocket: req.reusedSocket, json: <T>() => JSON.parse(body) as T });
          });
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms: ${method} ${host}${path}`)));
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

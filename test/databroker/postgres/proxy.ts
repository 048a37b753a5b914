// A loopback TCP proxy in front of the test Postgres, for what the real
// server cannot be asked to do: go away and come back (cut/resume), stop
// answering without closing (freeze), or speak TLS with a certificate the
// test chose (the proxy answers the SSLRequest itself, terminates TLS and
// passes the plaintext protocol on to the server).
import net from 'node:net';
import tls from 'node:tls';

// The first message of a connection that asks for TLS: length 8, code 80877103.
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

export interface PgProxyOptions {
  readonly upstreamHost: string;
  readonly upstreamPort: number;
  /** Present: answer SSLRequest with 'S' and terminate TLS with this key pair; absent: answer 'N'. */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Where to listen; `localhost` so certificates for that name verify. */
  readonly host?: string;
}

export interface PgProxy {
  readonly host: string;
  readonly port: number;
  /** Connections that came through TLS, and without. */
  readonly counts: { tls: number; plain: number };
  /** Drops every connection and refuses new ones. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
  /** Keeps connections open but passes nothing on, in either direction (new ones too). */
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startPgProxy(options: PgProxyOptions): Promise<PgProxy> {
  const host = options.host ?? '127.0.0.1';
  const sockets = new Set<net.Socket>();
  const counts = { tls: 0, plain: 0 };
  let frozen = false;

  function track(socket: net.Socket): void {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  function relay(client: net.Socket | tls.TLSSocket, first: Buffer | null): void {
    const upstream = net.connect(options.upstreamPort, options.upstreamHost);
    track(upstream);
    if (first !== null && first.length > 0) upstream.write(first);
    client.on('data', (chunk: Buffer) => {
      if (!frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!frozen) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  const server = net.createServer((socket) => {
    track(socket);
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      if (frozen) return;
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 8) return;
      socket.off('data', onData);
      if (!buffered.subarray(0, 8).equals(SSL_REQUEST)) {
        counts.plain++;
        relay(socket, buffered);
        return;
      }
      if (options.tls === undefined) {
        // Like a server without ssl: refuse, and let the client go on in plaintext if it will.
        socket.write('N');
        socket.on('data', onData);
        buffered = buffered.subarray(8);
        return;
      }
      socket.write('S');
      const secure = new tls.TLSSocket(socket, { isServer: true, key: options.tls.key, cert: options.tls.cert });
      secure.on('error', () => socket.destroy());
      secure.once('secure', () => {
        counts.tls++;
        relay(secure, buffered.subarray(8));
      });
    };
    socket.on('data', onData);
  });

  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    host,
    port,
    counts,
    cut: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    resume: () => new Promise<void>((resolve) => server.listen(port, host, resolve)),
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

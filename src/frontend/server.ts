// The uWS listener: plain HTTP with insecure_server, otherwise TLS with the
// default certificate plus one SNI entry per certificate name. Each SNI
// entry gets its own router whose handler knows which certificate its
// connections were established with (uWS routes by SNI, never by Host).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Config } from '../config/types.js';
import { Errors, PosternError } from '../errors.js';
import type { Pipeline } from '../proxy/pipeline.js';
import type { ProxyServices } from '../proxy/services.js';
import { createHandler } from './handler.js';
import { CertificateIndex } from './sni.js';
import type { Uws } from './uws.js';

export interface Listening {
  readonly host: string;
  readonly port: number;
}

export class FrontEnd {
  readonly #uws: Uws;
  readonly #app: TemplatedApp;
  readonly #config: Config;
  #listenSocket: us_listen_socket | null = null;
  /** Private directory for certificate and key files while uWS loads them: v20.30 reads them only from disk. */
  #certDir: string | null = null;

  constructor(uws: Uws, services: ProxyServices, pipeline: Pipeline) {
    this.#uws = uws;
    this.#config = services.config;
    const config = services.config;
    if (config.insecureServer) {
      this.#app = uws.App();
      this.#app.any('/*', createHandler(services, pipeline, null, -1));
      return;
    }
    const files = this.#writeCertificates(config);
    const certificates = new CertificateIndex(config.certificates);
    this.#app = uws.SSLApp(files[0]!);
    // Connections without SNI, or with a name no certificate serves, get the
    // default certificate and this router.
    this.#app.any('/*', createHandler(services, pipeline, certificates, 0));
    for (const [name, index] of certificates.entries()) {
      this.#app.addServerName(name, files[index]!);
      this.#app.domain(name).any('/*', createHandler(services, pipeline, certificates, index));
    }
    // uWS has read the files into its TLS contexts; keys stay on disk only
    // for the moment it takes to build them.
    this.#removeCertificates();
  }

  listen(): Promise<Listening> {
    const { host, port } = this.#config.address;
    return new Promise((resolve, reject) => {
      const onListen = (socket: us_listen_socket | false): void => {
        if (!socket) {
          reject(new PosternError(Errors.LISTEN_FAILED, `${host || '*'}:${port}`));
          return;
        }
        this.#listenSocket = socket;
        resolve({ host: host || '0.0.0.0', port: this.#uws.us_socket_local_port(socket) });
      };
      if (host) this.#app.listen(host, port, onListen);
      else this.#app.listen(port, onListen);
    });
  }

  /** New connections are refused from now on; open keep-alive connections are still served. */
  stopAccepting(): void {
    if (this.#listenSocket) {
      this.#uws.us_listen_socket_close(this.#listenSocket);
      this.#listenSocket = null;
    }
  }

  /** Closes every connection, listening or not. */
  close(): void {
    this.stopAccepting();
    (this.#app as TemplatedApp & { close?: () => void }).close?.();
    this.#removeCertificates();
  }

  #writeCertificates(config: Config): Array<{ cert_file_name: string; key_file_name: string }> {
    const dir = mkdtempSync(join(process.env.RUNTIME_DIRECTORY ?? tmpdir(), 'postern-tls-'));
    this.#certDir = dir;
    return config.certificates.map((pair, i) => {
      const cert = join(dir, `${i}.crt`);
      const key = join(dir, `${i}.key`);
      writeFileSync(cert, pair.certPem, { mode: 0o600 });
      writeFileSync(key, pair.keyPem, { mode: 0o600 });
      return { cert_file_name: cert, key_file_name: key };
    });
  }

  #removeCertificates(): void {
    if (this.#certDir) {
      rmSync(this.#certDir, { recursive: true, force: true });
      this.#certDir = null;
    }
  }
}

// Which certificate a host name selects, the way the TLS layer picks one by
// SNI: an exact name first, then a one-label wildcard, else the default
// certificate (index 0). The front end compares this with the certificate a
// connection actually arrived on, so that a request is never routed by its
// Host header into a name its TLS session was not established for.
import type { CertificatePair } from '../config/types.js';

export class CertificateIndex {
  readonly #exact = new Map<string, number>();
  readonly #wildcard = new Map<string, number>();

  constructor(certificates: readonly CertificatePair[]) {
    certificates.forEach((cert, index) => {
      for (const name of cert.names) {
        // The first certificate that names a host wins, as in the SNI table.
        if (name.startsWith('*.')) {
          const suffix = name.slice(1); // ".example.com"
          if (!this.#wildcard.has(suffix)) this.#wildcard.set(suffix, index);
        } else if (!this.#exact.has(name)) {
          this.#exact.set(name, index);
        }
      }
    });
  }

  /** Index of the certificate serving `host` (lower-case, no port); 0 for the default. */
  indexFor(host: string): number {
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    const dot = host.indexOf('.');
    if (dot > 0) {
      const wild = this.#wildcard.get(host.slice(dot));
      if (wild !== undefined) return wild;
    }
    return 0;
  }

  /** Every distinct name with the certificate that serves it, for SNI registration. */
  entries(): Array<[string, number]> {
    return [
      ...this.#exact.entries(),
      ...[...this.#wildcard.entries()].map(([suffix, i]): [string, number] => [`*${suffix}`, i]),
    ];
  }
}

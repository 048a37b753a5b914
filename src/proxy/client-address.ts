// The client's address as Envoy derives it with `use_remote_address: true`
// (which Pomerium sets): the TCP peer, unless `xff_num_trusted_hops` says how
// many proxies in front of us append to X-Forwarded-For honestly.
import { isIP } from 'node:net';

/**
 * With N trusted hops the client is the Nth address from the right of
 * X-Forwarded-For (the last N entries were written by trusted proxies, the
 * Nth of them records who connected to the outermost one). With 0 hops, with
 * fewer than N entries, or when that entry is not an IP address, it is the
 * peer — as Envoy falls back. Everything left of it is client-controlled.
 */
export function clientAddress(xff: string | undefined, remote: string, trustedHops: number): string {
  if (trustedHops <= 0 || xff === undefined) return remote;
  let end = xff.length;
  for (let hop = 1; ; hop++) {
    const comma = end === 0 ? -1 : xff.lastIndexOf(',', end - 1);
    if (hop === trustedHops) {
      const entry = trimOws(xff, comma + 1, end);
      return isIP(entry) === 0 ? remote : entry;
    }
    if (comma === -1) return remote;
    end = comma;
  }
}

function trimOws(s: string, start: number, end: number): string {
  while (start < end && (s.charCodeAt(start) === 0x20 || s.charCodeAt(start) === 0x09)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return s.slice(start, end);
}

/** X-Forwarded-For with the peer appended, as every proxy in the chain does. */
export function appendForwardedFor(existing: string | undefined, remote: string): string {
  return existing === undefined || existing.length === 0 ? remote : existing + ', ' + remote;
}

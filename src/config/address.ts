// The listen address: `host:port`, `:port`, `[::1]:port`, or a host alone
// (then the default port applies, as Pomerium's buildAddress does). Port 0
// asks the system for a free port.
import { isIPv6 } from 'node:net';
import type { Parsed } from './findings.js';
import type { ListenAddress } from './types.js';

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

export function parseAddress(text: string, defaultPort: number): Parsed<ListenAddress> {
  let host: string;
  let port: string | null;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { ok: false, error: 'has an unclosed [ in the host' };
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return { ok: false, error: 'must be host:port' };
    port = rest === '' ? null : rest.slice(1);
    if (!isIPv6(host)) return { ok: false, error: `[${host}] is not an IPv6 address` };
  } else {
    const colon = text.indexOf(':');
    if (colon < 0) {
      host = text;
      port = null;
    } else if (colon === text.lastIndexOf(':')) {
      host = text.slice(0, colon);
      port = text.slice(colon + 1);
    } else if (isIPv6(text)) {
      host = text;
      port = null;
    } else {
      return { ok: false, error: 'must be host:port (an IPv6 host goes in brackets: [::1]:443)' };
    }
    if (host !== '' && !isIPv6(host) && !HOSTNAME.test(host)) return { ok: false, error: `${JSON.stringify(host)} is not a valid host name or address` };
  }
  if (port === null) return { ok: true, value: { host, port: defaultPort } };
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return { ok: false, error: `port ${JSON.stringify(port)} must be a number from 0 to 65535` };
  return { ok: true, value: { host, port: Number(port) } };
}

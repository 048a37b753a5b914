// A cluster node's `address`: `host:port`, with an IPv6 host in brackets
// (`[::1]:5443`). The leader listens on it and the followers dial it.
import { isIPv6 } from 'node:net';

export interface NodeAddress {
  readonly host: string;
  readonly port: number;
}

/** The parsed address, or a sentence saying what is wrong with it. */
export function parseNodeAddress(address: string): NodeAddress | string {
  let host: string;
  let portText: string;
  if (address.startsWith('[')) {
    const close = address.indexOf(']');
    if (close < 0 || address[close + 1] !== ':') return `"${address}" is not host:port (an IPv6 host goes in brackets: [::1]:5443)`;
    host = address.slice(1, close);
    portText = address.slice(close + 2);
    if (!isIPv6(host)) return `"${address}": "${host}" is not an IPv6 address`;
  } else {
    const colon = address.lastIndexOf(':');
    if (colon < 0) return `"${address}" has no port (expected host:port)`;
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
    if (host.length === 0) return `"${address}" has no host`;
    if (isIPv6(host)) return `"${address}" is not host:port (an IPv6 host goes in brackets: [::1]:5443)`;
    if (!isHostName(host)) return `"${address}": "${host}" is not a host name or IPv4 address`;
  }
  if (!isDecimal(portText)) return `"${address}" has no valid port`;
  const port = Number(portText);
  if (port < 1 || port > 65535) return `"${address}": port ${portText} is outside 1-65535`;
  return { host, port };
}

/** Letters, digits, dots, hyphens and underscores: a DNS name or a dotted IPv4 address, nothing URL-like. */
function isHostName(text: string): boolean {
  if (text.length > 253) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 46 || c === 45 || c === 95;
    if (!ok) return false;
  }
  return true;
}

function isDecimal(text: string): boolean {
  if (text.length === 0 || text.length > 5) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

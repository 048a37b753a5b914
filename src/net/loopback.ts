// Loopback names and addresses: where plain http is tolerated (a development
// identity provider) and what `localhost` stands for in Pomerium's
// programmatic_redirect_domain_whitelist.
import { isIP } from 'node:net';

/** True for 127.0.0.0/8, ::1, `localhost` and `*.localhost` (RFC 6761 keeps those on this machine). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

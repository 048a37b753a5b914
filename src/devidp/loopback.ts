// The development identity provider only ever listens on loopback: it takes
// passwords over plain HTTP and has no protection meant for a network.
import { BlockList, isIPv4, isIPv6 } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * True for an IP literal in 127.0.0.0/8 or ::1 (in any IPv6 spelling,
 * IPv4-mapped included). Names, even `localhost`, are refused: what a name
 * resolves to is not ours to decide, and an empty host means every interface.
 */
export function isLoopbackAddress(host: string): boolean {
  if (isIPv4(host)) return LOOPBACK.check(host, 'ipv4');
  if (isIPv6(host)) return LOOPBACK.check(host, 'ipv6');
  return false;
}

// IP addresses and CIDR ranges for the `source_ip` criterion, with Go's
// semantics (net.ParseIP, net.ParseCIDR, IPNet.Contains), which Pomerium's
// Rego builtin inherits:
// - an IPv4 address and its IPv4-mapped IPv6 form (`::ffff:1.2.3.4`) are
//   the same address, so `::ffff:10.0.0.0/104` holds 10.1.2.3;
// - a plain IPv6 range never holds an IPv4 client (`::/0` does not match
//   10.0.0.1);
// - no zones (`fe80::1%eth0`), no leading zeros in IPv4 fields.
// Request addresses are parsed into one scratch buffer: no allocation per
// request.

/** A parsed range, as Go's IPNet.Contains compares it: 4 bytes for IPv4 (and IPv4-mapped) networks, else 16. */
export interface IpNetwork {
  readonly network: Uint8Array;
  readonly mask: Uint8Array;
}

const V4 = 4;
const V6 = 6;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Dotted-quad IPv4 from `start` to the end of `s` into out[at..at+4). */
function parseV4(s: string, start: number, out: Uint8Array, at: number): boolean {
  let field = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || field > 3) return false;
      out[at + field] = value;
      field++;
      value = 0;
      digits = 0;
      continue;
    }
    if (c < 0x30 || c > 0x39) return false;
    // "0" alone is fine; "01" is not (Go refuses leading zeros).
    if (digits === 1 && value === 0) return false;
    value = value * 10 + (c - 0x30);
    digits++;
    if (value > 255) return false;
  }
  return field === 4;
}

function parseV6(s: string, out: Uint8Array): boolean {
  const n = s.length;
  let i = 0;
  let filled = 0;
  let ellipsis = -1;
  if (n >= 2 && s.charCodeAt(0) === 0x3a && s.charCodeAt(1) === 0x3a) {
    ellipsis = 0;
    i = 2;
  }
  while (i < n) {
    const start = i;
    let group = 0;
    while (i < n) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      group = group * 16 + h;
      i++;
      if (i - start > 4) return false;
    }
    if (i === start) return false;
    if (i < n && s.charCodeAt(i) === 0x2e) {
      // An embedded IPv4 address ends the text and fills the last four bytes.
      if (filled + 4 > 16 || (ellipsis < 0 && filled !== 12)) return false;
      if (!parseV4(s, start, out, filled)) return false;
      filled += 4;
      i = n;
      break;
    }
    if (filled === 16) return false;
    out[filled] = group >> 8;
    out[filled + 1] = group & 0xff;
    filled += 2;
    if (i === n) break;
    if (s.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (i === n) return false;
    if (s.charCodeAt(i) === 0x3a) {
      if (ellipsis >= 0) return false;
      ellipsis = filled;
      i++;
    }
  }
  if (ellipsis < 0) return filled === 16;
  if (filled === 16) return false;
  const gap = 16 - filled;
  for (let k = filled - 1; k >= ellipsis; k--) out[k + gap] = out[k]!;
  for (let k = ellipsis; k < ellipsis + gap; k++) out[k] = 0;
  return true;
}

/**
 * Parses an address into its 16-byte form (IPv4 as `::ffff:a.b.c.d`).
 * Returns 4 for an IPv4 literal, 6 for an IPv6 literal, 0 when `s` is not an address.
 */
export function parseIp(s: string, out: Uint8Array): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      out.fill(0, 0, 10);
      out[10] = 0xff;
      out[11] = 0xff;
      return parseV4(s, 0, out, 12) ? V4 : 0;
    }
    if (c === 0x3a) return parseV6(s, out) ? V6 : 0;
  }
  return 0;
}

/** Go's IP.To4 test on a 16-byte address: ten zero bytes, then 0xff 0xff. */
export function isV4Mapped(ip: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false;
  return ip[10] === 0xff && ip[11] === 0xff;
}

function prefixMask(bits: number, bytes: number): Uint8Array {
  const mask = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    mask[i] = (0xff00 >> take) & 0xff;
  }
  return mask;
}

/**
 * A `source_ip` entry: a CIDR range, or a single address (which becomes /32
 * or /128). Null when it is neither.
 */
export function parseNetwork(text: string): IpNetwork | null {
  const slash = text.indexOf('/');
  const ip = new Uint8Array(16);
  const kind = parseIp(slash < 0 ? text : text.slice(0, slash), ip);
  if (kind === 0) return null;
  if (slash < 0) {
    // Go's ParseIP + To4: an IPv4-mapped IPv6 literal is an IPv4 address here.
    return isV4Mapped(ip) ? { network: ip.slice(12), mask: prefixMask(32, 4) } : { network: ip, mask: prefixMask(128, 16) };
  }
  const bitsText = text.slice(slash + 1);
  if (!/^[0-9]+$/.test(bitsText)) return null;
  const bits = Number(bitsText);
  const bytes = kind === V4 ? 4 : 16;
  if (bits > bytes * 8) return null;
  const mask = prefixMask(bits, bytes);
  // ParseCIDR masks the address; IPNet.Contains then compares an
  // IPv4-mapped network as IPv4, against the last four bytes of the mask.
  const base = kind === V4 ? ip.slice(12) : ip;
  const network = base.map((b, i) => b & mask[i]!);
  if (kind === V6 && isV4Mapped(network)) return { network: network.slice(12), mask: mask.slice(12) };
  return { network, mask };
}

/** Whether `network` holds the 16-byte address `ip` (as produced by parseIp). */
export function networkContains(network: IpNetwork, ip: Uint8Array): boolean {
  const v4 = isV4Mapped(ip);
  const n = network.network;
  if (n.length === 4) {
    if (!v4) return false;
    for (let i = 0; i < 4; i++) if ((ip[12 + i]! & network.mask[i]!) !== (n[i]! & network.mask[i]!)) return false;
    return true;
  }
  if (v4) return false;
  for (let i = 0; i < 16; i++) if ((ip[i]! & network.mask[i]!) !== (n[i]! & network.mask[i]!)) return false;
  return true;
}

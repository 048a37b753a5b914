// Hop-by-hop headers describe one connection, not the message: a proxy must
// not forward them (RFC 9110 §7.6.1). Names are compared lower-case, as uWS
// and the upstream parser (http1/parser.ts) both hand them to us.

/** Hop-by-hop in either direction. */
export function isHopByHop(lname: string): boolean {
  switch (lname) {
    case 'connection':
    case 'keep-alive':
    case 'proxy-connection':
    case 'te':
    case 'trailer':
    case 'transfer-encoding':
    case 'upgrade':
      return true;
    default:
      return false;
  }
}

/**
 * Hop-by-hop on the request side. `expect` joins the set: uWS has already
 * answered `100-continue` to the client, and the body goes upstream without
 * waiting for a go-ahead, so there is nothing left for the upstream to confirm.
 */
export function isHopByHopRequest(lname: string): boolean {
  return lname === 'expect' || isHopByHop(lname);
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * The extra header names a Connection header declares hop-by-hop, lower-cased.
 * Names already in the fixed set and the `close` option are left out, so the
 * common `keep-alive` / `close` values cost no allocation.
 */
export function connectionListedNames(value: string): readonly string[] {
  let out: string[] | null = null;
  const n = value.length;
  let i = 0;
  while (i < n) {
    // Skip separators and optional whitespace around list members.
    let c = value.charCodeAt(i);
    while (i < n && (c === 0x2c || c === 0x20 || c === 0x09)) c = value.charCodeAt(++i);
    const start = i;
    while (i < n && value.charCodeAt(i) !== 0x2c) i++;
    let end = i;
    while (end > start && (value.charCodeAt(end - 1) === 0x20 || value.charCodeAt(end - 1) === 0x09)) end--;
    if (end === start) continue;
    const token = value.slice(start, end).toLowerCase();
    if (token === 'close' || isHopByHop(token)) continue;
    if (out === null) out = [token];
    else if (!out.includes(token)) out.push(token);
  }
  return out ?? NONE;
}

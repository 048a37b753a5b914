// A route's `to`: one or more upstream URLs, each optionally followed by
// `,weight` (pom:config/custom.go ParseWeightedURL). Either every entry has
// a weight or none has, and a weight of 0 is refused. A string may also list
// several URLs separated by commas; a piece after a comma is a weight unless
// it holds `://`.
import type { UpstreamTarget } from './types.js';

const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/;
const NOT_YET = new Set(['h2c', 'http+unix', 'https+unix', 'unix', 'tcp', 'udp', 'ssh']);
const MAX_WEIGHT = 0xffffffff;

export interface ToProblem {
  /** The configured string it concerns; null for the list as a whole. */
  readonly index: number | null;
  readonly message: string;
  readonly warning: boolean;
}

export interface ParsedTo {
  readonly targets: UpstreamTarget[];
  readonly problems: ToProblem[];
}

interface Piece {
  /** Index of the configured string it came from. */
  readonly entry: number;
  readonly url: string;
  weight: string | null;
  /** A second weight followed the first. */
  extra: boolean;
}

/** The `url` or `url,weight` pieces of the configured strings, in order. */
function splitEntries(entries: readonly string[]): Piece[] {
  const out: Piece[] = [];
  for (const [entry, text] of entries.entries()) {
    const pieces = text.split(',');
    let last: Piece = { entry, url: pieces[0] as string, weight: null, extra: false };
    out.push(last);
    for (const piece of pieces.slice(1)) {
      if (piece.includes('://')) {
        last = { entry, url: piece, weight: null, extra: false };
        out.push(last);
      } else if (last.weight === null) last.weight = piece;
      else last.extra = true;
    }
  }
  return out;
}

function parseWeight(text: string): number | string {
  if (!/^\d+$/.test(text) || text.length > 10 || Number(text) > MAX_WEIGHT) {
    return `invalid weight ${JSON.stringify(text)}: must be a whole number from 1 to ${MAX_WEIGHT}`;
  }
  const n = Number(text);
  return n === 0 ? 'zero load balancing weight not permitted' : n;
}

function parseTarget(text: string): { target: Omit<UpstreamTarget, 'weight'>; warning: string | null } | string {
  const m = URL_SHAPE.exec(text);
  if (m === null) return 'must be an absolute URL such as http://app.internal:8080';
  const scheme = (m[1] as string).toLowerCase();
  if (NOT_YET.has(scheme)) return `${scheme}:// upstreams are not supported yet by this version of Postern`;
  if (scheme !== 'http' && scheme !== 'https') return `unsupported scheme ${JSON.stringify(scheme)} (use http:// or https://)`;
  if ((m[2] as string).includes('@')) return 'must not contain a user name or password';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a valid URL';
  }
  if (url.hostname === '') return 'must have a host';
  const protocol = url.protocol as 'http:' | 'https:';
  const port = url.port === '' ? (protocol === 'https:' ? '443' : '80') : url.port;
  return {
    target: {
      protocol,
      origin: `${protocol}//${url.hostname}:${port}`,
      authority: url.host,
      pathPrefix: url.pathname === '/' ? '' : url.pathname,
    },
    warning: url.search !== '' || url.hash !== '' ? 'the query or fragment is ignored' : null,
  };
}

export function parseTo(entries: readonly string[]): ParsedTo {
  const targets: UpstreamTarget[] = [];
  const problems: ToProblem[] = [];
  const pieces = splitEntries(entries);
  if (pieces.length === 0) problems.push({ index: null, message: 'must list at least one upstream URL', warning: false });
  for (const piece of pieces) {
    const index = piece.entry;
    const parsed = parseTarget(piece.url);
    if (typeof parsed === 'string') {
      problems.push({ index, message: parsed, warning: false });
      continue;
    }
    if (parsed.warning !== null) problems.push({ index, message: parsed.warning, warning: true });
    if (piece.extra) {
      problems.push({ index, message: 'has more than one weight', warning: false });
      continue;
    }
    let weight = 1;
    if (piece.weight !== null) {
      const w = parseWeight(piece.weight);
      if (typeof w === 'string') {
        problems.push({ index, message: w, warning: false });
        continue;
      }
      weight = w;
    }
    targets.push({ ...parsed.target, weight });
  }
  const weighted = pieces.filter((p) => p.weight !== null).length;
  if (weighted > 0 && weighted < pieces.length) {
    problems.push({
      index: null,
      message: 'either no weights should be provided, or all endpoints must have non-zero weight specified',
      warning: false,
    });
  }
  return { targets, problems };
}

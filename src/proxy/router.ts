// Route selection with Envoy's virtual-host semantics, as Pomerium configures
// them: every exact `from` host is its own virtual host and decides alone
// (first match in config order, a miss is a 404 with no fall-through);
// wildcard hosts live in the catch-all and are tried only when no exact host
// claims the request.
import type { Route } from '../config/types.js';

const ANY_PATH = 0;
const PREFIX = 1;
const EXACT_PATH = 2;
const REGEX = 3;

/** A route with its matcher flattened for the hot path. */
interface Candidate {
  readonly route: Route;
  /** -1 = any incoming port. */
  readonly port: number;
  readonly kind: number;
  /** The prefix or the exact path; '' otherwise. */
  readonly text: string;
  readonly regex: RegExp | null;
  /** Wildcard routes only. */
  readonly host: RegExp | null;
}

function candidate(route: Route): Candidate {
  let kind = ANY_PATH;
  let text = '';
  if (route.regex !== null) kind = REGEX;
  else if (route.path !== null) {
    kind = EXACT_PATH;
    text = route.path;
  } else if (route.prefix !== null) {
    kind = PREFIX;
    text = route.prefix;
  }
  return {
    route,
    port: route.from.port ?? -1,
    kind,
    text,
    regex: route.regex,
    host: route.from.wildcard,
  };
}

function pathMatches(c: Candidate, path: string): boolean {
  switch (c.kind) {
    case ANY_PATH:
      return true;
    case PREFIX:
      return path.startsWith(c.text);
    case EXACT_PATH:
      return path === c.text;
    default:
      return (c.regex as RegExp).test(path);
  }
}

export class Router {
  readonly #exact = new Map<string, Candidate[]>();
  readonly #wildcard: Candidate[] = [];

  constructor(routes: readonly Route[]) {
    for (const route of routes) {
      const c = candidate(route);
      if (c.host !== null) {
        this.#wildcard.push(c);
        continue;
      }
      const list = this.#exact.get(route.from.host);
      if (list === undefined) this.#exact.set(route.from.host, [c]);
      else list.push(c);
    }
  }

  /**
   * The route for a request, or null (404). `host` is lower-cased without
   * port; `port` is the effective port (from Host, else the listener's);
   * `path` is the normalised path without query.
   */
  match(host: string, port: number, path: string): Route | null {
    const exact = this.#exact.get(host);
    if (exact !== undefined) {
      let claimed = false;
      for (let i = 0; i < exact.length; i++) {
        const c = exact[i];
        if (c.port !== -1 && c.port !== port) continue;
        claimed = true;
        if (pathMatches(c, path)) return c.route;
      }
      // The host (at this port) is a virtual host of its own: no fall-through.
      if (claimed) return null;
    }
    const wildcard = this.#wildcard;
    for (let i = 0; i < wildcard.length; i++) {
      const c = wildcard[i];
      if (c.port !== -1 && c.port !== port) continue;
      if ((c.host as RegExp).test(host) && pathMatches(c, path)) return c.route;
    }
    return null;
  }

  /** True when some route's `from` names this host (lower-case, no port), exactly or by wildcard. */
  servesHost(host: string): boolean {
    if (this.#exact.has(host)) return true;
    for (const c of this.#wildcard) if ((c.host as RegExp).test(host)) return true;
    return false;
  }
}

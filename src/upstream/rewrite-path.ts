// The path the upstream receives, with Envoy's rewrite semantics as Pomerium
// configures them (`getRewriteOptions`): prefix_rewrite, else regex_rewrite,
// else the path of the `to` URL acting as a prefix_rewrite.
import type { RegexRewrite, Route, UpstreamTarget } from '../config/types.js';

/**
 * The rewritten path. A prefix rewrite swaps what the route matched: its
 * `prefix`, the whole path for `path` and `regex` routes (Envoy replaces the
 * full match), or the leading `/` of a route with no path matcher — so
 * `to: https://x/anything` sends `/foo` as `/anythingfoo`, as Pomerium does.
 * The result always starts with `/`, since a request target must.
 */
export function upstreamPath(path: string, route: Route, target: UpstreamTarget): string {
  let out: string;
  if (route.prefixRewrite !== null) out = replaceMatchedPrefix(path, route, route.prefixRewrite);
  else if (route.regexRewrite !== null) {
    const c = compiled(route.regexRewrite);
    out = path.replace(c.pattern, c.replacement);
  }
  else if (target.pathPrefix !== '') out = replaceMatchedPrefix(path, route, target.pathPrefix);
  else return path;
  return out.charCodeAt(0) === 0x2f ? out : '/' + out;
}

function replaceMatchedPrefix(path: string, route: Route, replacement: string): string {
  let matched: number;
  if (route.regex !== null) matched = path.length;
  else if (route.path !== null) matched = route.path.length;
  else if (route.prefix !== null) matched = route.prefix.length;
  else matched = 1;
  return replacement + path.slice(matched);
}

/** The origin-form request target: path plus `?query` when there is one. */
export function upstreamTarget(path: string, query: string): string {
  return query.length > 0 ? path + '?' + query : path;
}

interface CompiledRewrite {
  readonly pattern: RegExp;
  readonly replacement: string;
}

// Compiled once per configured rewrite; routes are immutable, so the cache
// lives as long as the route does.
const cache = new WeakMap<RegexRewrite, CompiledRewrite>();

function compiled(rewrite: RegexRewrite): CompiledRewrite {
  let c = cache.get(rewrite);
  if (c === undefined) {
    const { pattern } = rewrite;
    // Envoy replaces every match (RE2::GlobalReplace).
    const global = pattern.global ? pattern : new RegExp(pattern.source, pattern.flags + 'g');
    c = { pattern: global, replacement: jsReplacement(rewrite.substitution, groupCount(pattern)) };
    cache.set(rewrite, c);
  }
  return c;
}

function groupCount(pattern: RegExp): number {
  // An alternative that matches the empty string reveals the number of groups.
  return (new RegExp(pattern.source + '|').exec('') as RegExpExecArray).length - 1;
}

/**
 * Translates an RE2 rewrite (`\0`–`\9` captures, `\\` a backslash) into a
 * String.prototype.replace pattern, so the replacement runs natively. Groups
 * use the two-digit `$0n` form, which cannot swallow a following literal
 * digit; `$` is escaped; a reference to a group the pattern lacks (RE2 would
 * refuse it) inserts nothing.
 */
function jsReplacement(substitution: string, groups: number): string {
  let out = '';
  for (let i = 0; i < substitution.length; i++) {
    const c = substitution[i];
    if (c === '$') {
      out += '$$';
      continue;
    }
    if (c === '\\' && i + 1 < substitution.length) {
      const next = substitution.charCodeAt(i + 1);
      if (next >= 0x30 && next <= 0x39) {
        const n = next - 0x30;
        if (n === 0) out += '$&';
        else if (n <= groups) out += '$0' + n;
        i++;
        continue;
      }
      if (next === 0x5c) {
        out += '\\';
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}

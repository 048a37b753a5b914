// A route's access options, parsed and checked now; the proxy compiles them
// into the route's policy (authorize/route-policy.ts). Pomerium's
// combination rules (pom:config/policy.go Validate): a public route has no
// allow-lists, and "any authenticated user" is not combined with user or
// domain lists. The PPL `policy` is parsed and compiled here too, so a
// mistake in it is reported with its line and the criterion at fault.
import { formatPath, type PplPath } from '../authorize/ppl/ast.js';
import { routePolicyProblems } from '../authorize/route-policy.js';
import { readBool, readList, readMap, readStringList, type Options } from './fields.js';
import type { Findings, Located } from './findings.js';
import { toPlain, type MapEntry, type SourceNode } from './source.js';
import type { RouteAccess } from './types.js';

function bool(f: Findings, loc: Located | undefined): boolean {
  return loc === undefined ? false : (readBool(f, loc) ?? false);
}

/** `allowed_idp_claims`: claim → list of values (a string splits on `,`, another scalar is a list of one). */
function readClaims(f: Findings, loc: Located): Record<string, unknown[]> {
  const map = readMap(f, loc);
  const out: [string, unknown[]][] = [];
  for (const entry of map?.entries.values() ?? []) {
    const items = readList(f, entry.loc);
    if (items === undefined) continue;
    if (items.some((item) => item.node.kind !== 'scalar')) {
      f.error(entry.loc, 'must be a list of values');
      continue;
    }
    out.push([entry.name, items.map((item) => toPlain(item.node))]);
  }
  return Object.fromEntries(out);
}

function readPolicy(f: Findings, loc: Located | undefined): unknown {
  if (loc === undefined) return null;
  if (loc.node.kind === 'scalar') {
    f.error(loc, 'must be a PPL policy: a map, or a list of maps');
    return null;
  }
  return toPlain(loc.node);
}

/** The line of the value at `path` below `node` (the key's line for a map entry), as deep as the path goes. */
function lineAt(node: SourceNode, path: PplPath): number {
  let line = node.line;
  let current: SourceNode | undefined = node;
  for (const segment of path) {
    if (current === undefined) break;
    if (typeof segment === 'number' && current.kind === 'list') {
      current = current.items[segment];
      if (current !== undefined) line = current.line;
    } else if (typeof segment === 'string' && current.kind === 'map') {
      const entry: MapEntry | undefined = current.entries.find((e) => e.name === segment);
      if (entry !== undefined) line = entry.line;
      current = entry?.value;
    } else {
      break;
    }
  }
  return line;
}

/** Reports each policy problem at the place in the route it names (`policy…`, or the allow option it came from). */
function reportPolicyProblems(f: Findings, options: Options, access: RouteAccess): void {
  for (const problem of routePolicyProblems(access)) {
    const [head, ...rest] = problem.path;
    const loc = typeof head === 'string' ? options.get(head) : undefined;
    if (loc === undefined) continue;
    f.errorAt({ file: loc.node.file, line: lineAt(loc.node, rest), key: formatPath(rest, loc.key) }, problem.message);
  }
}

export function decodeAccess(f: Findings, options: Options): RouteAccess {
  const publicLoc = options.get('allow_public_unauthenticated_access');
  const anyUserLoc = options.get('allow_any_authenticated_user');
  const usersLoc = options.get('allowed_users');
  const domainsLoc = options.get('allowed_domains');
  const claimsLoc = options.get('allowed_idp_claims');
  const passLoc = options.get('pass_identity_headers');
  const access: RouteAccess = {
    allowPublicUnauthenticatedAccess: bool(f, publicLoc),
    allowAnyAuthenticatedUser: bool(f, anyUserLoc),
    allowedUsers: (usersLoc && readStringList(f, usersLoc)) ?? [],
    allowedDomains: (domainsLoc && readStringList(f, domainsLoc)) ?? [],
    allowedIdpClaims: claimsLoc === undefined ? {} : readClaims(f, claimsLoc),
    corsAllowPreflight: bool(f, options.get('cors_allow_preflight')),
    policy: readPolicy(f, options.get('policy')),
    passIdentityHeaders: passLoc === undefined ? null : (readBool(f, passLoc) ?? null),
    showErrorDetails: bool(f, options.get('show_error_details')),
  };
  // As in Pomerium, a list that is present counts even when empty.
  const lists = usersLoc !== undefined || domainsLoc !== undefined;
  if (access.allowPublicUnauthenticatedAccess && (access.allowAnyAuthenticatedUser || lists)) {
    f.error(
      publicLoc as Located,
      'cannot be combined with allow_any_authenticated_user, allowed_users or allowed_domains (a public route has no allow-lists)',
    );
  }
  if (access.allowAnyAuthenticatedUser && lists) {
    f.error(anyUserLoc as Located, 'cannot be combined with allowed_users or allowed_domains');
  }
  reportPolicyProblems(f, options, access);
  return access;
}

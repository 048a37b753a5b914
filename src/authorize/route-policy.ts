// The compiled policy of a route: its allow options and its `policy` block,
// parsed and compiled together. The config loader calls
// routePolicyProblems to refuse a bad policy with its place; the proxy
// calls compileRoutePolicy once per configuration and evaluates the result
// on every request.
import type { RouteAccess } from '../config/types.js';
import { Errors, PosternError } from '../errors.js';
import { formatPath, type PplPolicy, type PplProblem } from './ppl/ast.js';
import { compilePolicy, type CompiledPolicy, type PolicyCompile } from './ppl/compile.js';
import { routePpl } from './ppl/legacy.js';
import { parsePpl } from './ppl/parse.js';

/** Parses and compiles; problem paths start at the route (`['policy', 'allow', 'and', 0, 'email']`). */
export function compileRouteAccess(access: RouteAccess): PolicyCompile {
  let embedded: PplPolicy | null = null;
  if (access.policy !== null) {
    const parsed = parsePpl(access.policy, ['policy']);
    if (!parsed.ok) return parsed;
    embedded = parsed.policy;
  }
  return compilePolicy(routePpl(access, embedded));
}

export function routePolicyProblems(access: RouteAccess): readonly PplProblem[] {
  const compiled = compileRouteAccess(access);
  return compiled.ok ? [] : compiled.problems;
}

/** For a route of a loaded configuration, whose policy was checked when it was read. */
export function compileRoutePolicy(access: RouteAccess): CompiledPolicy {
  const compiled = compileRouteAccess(access);
  if (compiled.ok) return compiled.policy;
  const detail = compiled.problems.map((p) => `${formatPath(p.path)}: ${p.message}`).join('; ');
  throw new PosternError(Errors.CONFIG_INVALID, detail);
}

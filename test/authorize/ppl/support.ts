// Helpers for the policy tests: policies written in YAML as in Pomerium's
// own tests, inputs built from a few fields, and results in Pomerium's
// `[value, [reasons]]` shape so tables read like theirs.
import { parse } from 'yaml';
import { policyIdentity, type ClientCertificateInput, type PolicyIdentity, type PolicyInput } from '../../../src/authorize/input.js';
import { compilePolicy, type CompiledPolicy } from '../../../src/authorize/ppl/compile.js';
import { parsePpl } from '../../../src/authorize/ppl/parse.js';

export type Verdict = readonly [boolean, readonly string[]];

export function compileYaml(text: string): CompiledPolicy {
  const parsed = parsePpl(parse(text) as unknown);
  if (!parsed.ok) throw new Error(`parse: ${JSON.stringify(parsed.problems)}`);
  const compiled = compilePolicy(parsed.policy);
  if (!compiled.ok) throw new Error(`compile: ${JSON.stringify(compiled.problems)}`);
  return compiled.policy;
}

/** The problems of a policy that does not compile, as messages. */
export function problemsOf(text: string): string[] {
  const parsed = parsePpl(parse(text) as unknown);
  if (!parsed.ok) return parsed.problems.map((p) => p.message);
  const compiled = compilePolicy(parsed.policy);
  return compiled.ok ? [] : compiled.problems.map((p) => p.message);
}

export interface Who {
  readonly userId?: string;
  readonly email?: string;
  readonly groups?: readonly string[];
  readonly claims?: Record<string, unknown>;
  readonly kind?: 'session' | 'service_account';
}

export function who(w: Who = {}): PolicyIdentity {
  return policyIdentity({
    kind: w.kind ?? 'session',
    sessionId: 'SESSION_ID',
    userId: w.userId ?? 'USER_ID',
    email: w.email ?? '',
    groups: w.groups ?? [],
    claims: w.claims ?? {},
  });
}

export interface InputFields {
  readonly identity?: PolicyIdentity | null;
  readonly method?: string;
  readonly path?: string;
  readonly headers?: readonly string[];
  readonly ip?: string;
  readonly certificate?: ClientCertificateInput | null;
  readonly now?: Date;
}

export function input(f: InputFields = {}): PolicyInput {
  return {
    request: { method: f.method ?? 'GET', path: f.path ?? '/', headers: f.headers ?? [], host: 'app.example.com', ip: f.ip ?? '127.0.0.1' },
    identity: f.identity === undefined ? null : f.identity,
    clientCertificate: f.certificate ?? null,
    now: f.now ?? new Date('2021-05-11T13:43:00Z'),
  };
}

/** Evaluates a YAML policy: `{allow: [value, reasons], deny: [value, reasons]}`. */
export function evaluate(text: string, f: InputFields = {}): { allow: Verdict; deny: Verdict } {
  const r = compileYaml(text).evaluate(input(f));
  return { allow: [r.allow, [...r.allowReasons]], deny: [r.deny, [...r.denyReasons]] };
}

export const NOTHING: Verdict = [false, []];

/** `allow: and: [<criterion>]`, the shape of most of Pomerium's criterion tests. */
export function allowAnd(criterionYaml: string): string {
  return `allow:\n  and:\n    - ${criterionYaml.replace(/\n/g, '\n      ')}\n`;
}

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { PolicyInput } from '../../../src/authorize/input.js';
import { compilePolicy } from '../../../src/authorize/ppl/compile.js';
import { parsePpl } from '../../../src/authorize/ppl/parse.js';
import { compileYaml, evaluate, input, NOTHING, who, type Verdict } from './support.js';

// Criteria whose outcome is fixed by the request method, so tables can say
// "true"/"false" and still carry distinct reasons.
const T1 = 'http_method: GET'; // true, http-method-ok
const F1 = 'http_path: /nowhere'; // false, http-path-unauthorized
const T2 = 'accept: 1'; // true, accept
const F2 = 'reject: 1'; // false, reject

function rule(operator: string, ...criteria: string[]): string {
  return `  ${operator}:\n${criteria.map((c) => `    - ${c}\n`).join('')}`;
}

describe('one block (pom generator: and, or, not, nor)', () => {
  const cases: ReadonlyArray<readonly [string, string, Verdict]> = [
    ['and: all true → true, with every reason', rule('and', T1, T2), [true, ['accept', 'http-method-ok']]],
    ['and: one false → false, with the false reasons only', rule('and', T1, F1, F2), [false, ['http-path-unauthorized', 'reject']]],
    ['or: one true → true, with the true reasons only', rule('or', F1, T1, F2), [true, ['http-method-ok']]],
    ['or: none true → false, with every reason', rule('or', F1, F2), [false, ['http-path-unauthorized', 'reject']]],
    ['not: every criterion false → true, reasons kept as they are', rule('not', F1, F2), [true, ['http-path-unauthorized', 'reject']]],
    ['not: one criterion true → false, with the reasons of the true ones', rule('not', F1, T1), [false, ['http-method-ok']]],
    ['nor: one criterion false → true (NAND), with its reasons', rule('nor', T1, F2), [true, ['reject']]],
    ['nor: every criterion true → false, with every reason', rule('nor', T1, T2), [false, ['accept', 'http-method-ok']]],
    ['the same reason twice is one reason', rule('and', T1, T1), [true, ['http-method-ok']]],
  ];
  for (const [name, body, allow] of cases) {
    test(name, () => assert.deepEqual(evaluate(`allow:\n${body}`), { allow, deny: NOTHING }));
  }

  test('a matching email under not is [false, email-ok]: the reason is not inverted', () => {
    assert.deepEqual(evaluate(`allow:\n${rule('not', 'email: a@example.com')}`, { identity: who({ email: 'a@example.com' }) }).allow, [
      false,
      ['email-ok'],
    ]);
  });

  test('an identity criterion under not, for an anonymous request, is true but asks to sign in', () => {
    assert.deepEqual(evaluate(`allow:\n${rule('not', 'email: a@example.com')}`).allow, [true, ['user-unauthenticated']]);
  });
});

describe('blocks of one action are OR’d', () => {
  test('allow: {and: [A], or: [B, C]} is A ∨ (B ∨ C), keeping the reasons of the true blocks', () => {
    assert.deepEqual(evaluate(`allow:\n${rule('and', F1)}${rule('or', F2, T1)}`).allow, [true, ['http-method-ok']]);
  });
  test('…and all reasons when no block holds', () => {
    assert.deepEqual(evaluate(`allow:\n${rule('and', T1, F1)}${rule('or', F2)}`).allow, [false, ['http-path-unauthorized', 'reject']]);
  });
  test('several allow rules in a list are OR’d too', () => {
    const policy = `- allow:\n    and:\n      - ${F1}\n- allow:\n    and:\n      - ${T2}\n- deny:\n    or:\n      - ${F2}\n`;
    assert.deepEqual(evaluate(policy), { allow: [true, ['accept']], deny: [false, ['reject']] });
  });
  test('the generator’s example: and/or/not/nor in one allow rule, another allow rule, a deny nor', () => {
    const policy = [
      `- allow:`,
      `    and: [{accept: 1}, {accept: 1}, {accept: 1}]`,
      `    or: [{accept: 1}, {accept: 1}, {accept: 1}]`,
      `    not: [{accept: 1}, {accept: 1}, {accept: 1}]`,
      `    nor: [{accept: 1}, {accept: 1}, {accept: 1}]`,
      `- allow:`,
      `    and: [{accept: 1}]`,
      `- deny:`,
      `    nor: [{accept: 1}, {accept: 1}]`,
    ].join('\n');
    assert.deepEqual(evaluate(policy), { allow: [true, ['accept']], deny: [false, ['accept']] });
  });
});

describe('defaults and empty parts', () => {
  test('an empty policy is [false, no reasons] for both actions', () => {
    assert.deepEqual(evaluate('{}'), { allow: NOTHING, deny: NOTHING });
    assert.deepEqual(evaluate('[]'), { allow: NOTHING, deny: NOTHING });
  });
  test('allow: {} and and: [] add nothing', () => {
    assert.deepEqual(evaluate('allow: {}\ndeny:\n  and: []\n'), { allow: NOTHING, deny: NOTHING });
  });
  test('a deny rule on an identity criterion asks an anonymous request to sign in (deny-why-false)', () => {
    assert.deepEqual(evaluate(`allow:\n${rule('or', T2)}deny:\n${rule('or', 'email: {is: x@example.com}')}`), {
      allow: [true, ['accept']],
      deny: [false, ['user-unauthenticated']],
    });
  });
});

describe('compile errors', () => {
  function problems(text: string) {
    const parsed = parsePpl(JSON.parse(text) as unknown, ['policy']);
    assert.ok(parsed.ok);
    const compiled = compilePolicy(parsed.policy);
    assert.ok(!compiled.ok);
    return compiled.problems;
  }
  test('an unknown criterion is named, with its place', () => {
    assert.deepEqual(problems('{"allow": {"or": [{"accept": 1}, {"emial": "x"}]}}'), [
      { path: ['policy', 'allow', 'or', 1, 'emial'], message: 'unknown policy criterion "emial"' },
    ]);
  });
  test('operators do not nest: an operator inside a list is an unknown criterion', () => {
    assert.deepEqual(
      problems('{"allow": {"and": [{"or": [{"accept": 1}]}]}}').map((p) => p.message),
      ['unknown policy criterion "or"'],
    );
  });
  test('every bad criterion is reported, not only the first', () => {
    assert.equal(problems('{"deny": {"or": [{"x": 1}, {"source_ip": "nope"}, {"groups": {"bad": 1}}]}}').length, 3);
  });
});

describe('explain', () => {
  test('marks the blocks and criteria whose reasons were kept, and what not/nor counted', () => {
    const policy = compileYaml(`allow:\n${rule('and', T1, F1)}${rule('not', F2)}`);
    const ex = policy.explain(input());
    assert.deepEqual(ex.result, { allow: true, deny: false, allowReasons: ['reject'], denyReasons: [] });
    assert.deepEqual(
      ex.blocks.map((b) => [b.operator, b.value, b.decisive, b.criteria.map((c) => [c.key, c.value, c.counted, c.decisive])]),
      [
        ['and', false, false, [['http_method', true, true, false], ['http_path', false, false, false]]],
        ['not', true, true, [['reject', false, true, true]]],
      ],
    );
  });
  test('says what the policy reads', () => {
    assert.deepEqual(compileYaml(`allow:\n${rule('and', T1)}`).reads, { identity: false, request: true, clientCertificate: false, clock: false });
    assert.deepEqual(compileYaml(`allow:\n${rule('and', 'groups: a', 'day_of_week: mon')}`).reads, {
      identity: true,
      request: false,
      clientCertificate: false,
      clock: true,
    });
  });
});

// A model of Pomerium's Rego, written with sets and as plainly as possible,
// to check the compiled closures against on random policies.
type Outcome = readonly [boolean, ReadonlySet<string>];
function merge(results: readonly Outcome[], all: boolean): Outcome {
  const value = all ? results.every((r) => r[0]) : results.some((r) => r[0]);
  const kept = results.filter((r) => r[0] === value);
  return [value, new Set(kept.flatMap((r) => [...r[1]]))];
}

const CRITERIA: ReadonlyArray<readonly [Record<string, unknown>, (i: PolicyInput) => Outcome]> = [
  [{ accept: 1 }, () => [true, new Set(['accept'])]],
  [{ reject: 1 }, () => [false, new Set(['reject'])]],
  [{ http_method: 'GET' }, (i) => (i.request.method === 'GET' ? [true, new Set(['http-method-ok'])] : [false, new Set(['http-method-unauthorized'])])],
  [
    { http_path: { starts_with: '/a' } },
    (i) => (i.request.path.startsWith('/a') ? [true, new Set(['http-path-ok'])] : [false, new Set(['http-path-unauthorized'])]),
  ],
  [
    { email: { ends_with: '@example.com' } },
    (i) =>
      i.identity === null
        ? [false, new Set(['user-unauthenticated'])]
        : i.identity.email.endsWith('@example.com')
          ? [true, new Set(['email-ok'])]
          : [false, new Set(['email-unauthorized'])],
  ],
  [{ authenticated_user: 1 }, (i) => (i.identity === null ? [false, new Set(['user-unauthenticated'])] : [true, new Set(['user-ok'])])],
];
const OPS = ['and', 'or', 'not', 'nor'] as const;

const arbBlock = fc.record({
  op: fc.constantFrom(...OPS),
  criteria: fc.array(fc.integer({ min: 0, max: CRITERIA.length - 1 }), { minLength: 1, maxLength: 4 }),
});
const arbRule = fc.record({ action: fc.constantFrom('allow', 'deny'), blocks: fc.array(arbBlock, { maxLength: 3 }) });
const arbPolicy = fc.array(arbRule, { maxLength: 4 });
const arbInput = fc.record({
  method: fc.constantFrom('GET', 'POST'),
  path: fc.constantFrom('/a', '/b'),
  identity: fc.option(fc.constantFrom('x@example.com', 'y@example.org'), { nil: null }),
});

type RandomPolicy = typeof arbPolicy extends fc.Arbitrary<infer T> ? T : never;

/** The random policy as PPL data; two blocks with one operator in a rule are one map key, the last wins. */
function toPlain(policy: RandomPolicy): unknown {
  return policy.map((r) => ({ [r.action]: Object.fromEntries(r.blocks.map((b) => [b.op, b.criteria.map((c) => CRITERIA[c]![0])])) }));
}

function model(policy: RandomPolicy, i: PolicyInput): { allow: Outcome; deny: Outcome } {
  const action = (name: string): Outcome => {
    const blocks: Outcome[] = [];
    for (const r of policy) {
      if (r.action !== name) continue;
      const byOp = new Map(r.blocks.map((b) => [b.op, b.criteria]));
      for (const op of OPS) {
        const criteria = byOp.get(op);
        if (criteria === undefined) continue;
        const results = criteria.map((c) => CRITERIA[c]![1](i));
        const inverted = op === 'not' || op === 'nor';
        blocks.push(merge(inverted ? results.map(([v, rs]) => [!v, rs] as const) : results, op === 'and' || op === 'not'));
      }
    }
    return blocks.length === 0 ? [false, new Set()] : merge(blocks, false);
  };
  return { allow: action('allow'), deny: action('deny') };
}

describe('properties', () => {
  const build = (f: { method: string; path: string; identity: string | null }): PolicyInput =>
    input({ method: f.method, path: f.path, identity: f.identity === null ? null : who({ email: f.identity }) });

  test('the compiled policy agrees with a plain model of Pomerium’s Rego, values and reasons', () => {
    fc.assert(
      fc.property(arbPolicy, arbInput, (policy, fields) => {
        const parsed = parsePpl(toPlain(policy));
        assert.ok(parsed.ok);
        const compiled = compilePolicy(parsed.policy);
        assert.ok(compiled.ok);
        const i = build(fields);
        const got = compiled.policy.evaluate(i);
        const want = model(policy, i);
        assert.deepEqual([got.allow, [...got.allowReasons]], [want.allow[0], [...want.allow[1]].sort()]);
        assert.deepEqual([got.deny, [...got.denyReasons]], [want.deny[0], [...want.deny[1]].sort()]);
        assert.deepEqual(compiled.policy.explain(i).result, got);
      }),
      { numRuns: 500 },
    );
  });

  test('not inverts a criterion’s value and keeps its reason; and/or of one is that one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: CRITERIA.length - 1 }), arbInput, (c, fields) => {
        const text = JSON.stringify(CRITERIA[c]![0]);
        const i = build(fields);
        const one = (op: string) => compileYaml(`allow:\n  ${op}:\n    - ${text}\n`).evaluate(i);
        const [value, reasons] = CRITERIA[c]![1](i);
        for (const op of ['and', 'or']) assert.deepEqual([one(op).allow, one(op).allowReasons], [value, [...reasons]]);
        for (const op of ['not', 'nor']) assert.deepEqual([one(op).allow, one(op).allowReasons], [!value, [...reasons]]);
      }),
    );
  });

  test('evaluation never throws, whatever the identity and request hold', () => {
    const policy = compileYaml(
      [
        'allow:',
        '  or:',
        '    - domain: example.com',
        '    - claim/groups: {has: admins, exclude: x}',
        '    - claim/a.b: 1',
        '    - groups: {is: a}',
        '    - source_ip: [10.0.0.0/8, "::1"]',
        '    - client_certificate: {san_dns: {ends_with: .example.com}}',
        '    - time_of_day: {timezone: Europe/Paris, after: "9:00"}',
        '  not:',
        '    - http_path: {in: [/a, 1, null]}',
        'deny:',
        '  nor:',
        '    - email: {not_in: [a]}',
        '    - cors_preflight: 1',
        '    - invalid_client_certificate: 1',
      ].join('\n'),
    );
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.array(fc.string(), { maxLength: 6 }),
        fc.string(),
        fc.option(fc.record({ email: fc.string(), userId: fc.string(), claims: fc.dictionary(fc.string(), fc.jsonValue()) }), { nil: null }),
        fc.date(),
        (method, path, headers, ip, id, now) => {
          const identity = id === null ? null : who({ email: id.email, userId: id.userId, claims: id.claims });
          policy.evaluate(input({ method, path, headers: headers.length % 2 === 0 ? headers : headers.slice(1), ip, identity, now }));
        },
      ),
    );
  });
});

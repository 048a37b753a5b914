import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { formatPath } from '../../../src/authorize/ppl/ast.js';
import { parsePpl } from '../../../src/authorize/ppl/parse.js';

function rules(text: string) {
  const parsed = parsePpl(JSON.parse(text) as unknown);
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.problems));
  return parsed.policy.rules;
}

function problems(text: string) {
  const parsed = parsePpl(JSON.parse(text) as unknown);
  assert.ok(!parsed.ok, 'expected problems');
  return parsed.problems.map((p) => `${formatPath(p.path)}: ${p.message}`);
}

// pom:pkg/policy/parser/parser_test.go, case by case.
const accepted: ReadonlyArray<readonly [string, string, number]> = [
  ['empty', '{}', 0],
  ['allow', '{ "allow": {} }', 1],
  ['deny', '{ "deny": {} }', 1],
  ['rule array', '[{ "deny": {} }]', 1],
  ['logical operators', '{ "allow": { "and": [], "or": [], "not": [] } }', 1],
  ['nor, which the docs omit', '{ "allow": { "nor": [] } }', 1],
  ['an "action" key in a rule body is tolerated, whatever its value', '{ "allow": { "action": "deny", "or": [] } }', 1],
  ['an empty list of rules', '[]', 0],
];
for (const [name, text, count] of accepted) {
  test(`parser accepts: ${name}`, () => assert.equal(rules(text).length, count));
}

const refused: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['invalid rule type', '1', /^: must be a map of allow\/deny rules, or a list of them; not a number/],
  ['invalid rule action', '{ "some-other-action": {} }', /^some-other-action: unsupported action "some-other-action"/],
  ['invalid rule array', '[{ "some-other-action": {} }]', /^\[0\]\.some-other-action: unsupported action/],
  ['invalid rule array type', '[1]', /^\[0\]: must be a map of allow\/deny rules, not a number/],
  ['invalid logical operator', '{ "allow": { "iff": [] } }', /^allow\.iff: unsupported conditional "iff"/],
  ['empty criteria', '{ "allow": { "and": [ {} ] } }', /^allow\.and\[0\]: a criterion has exactly one key, this one has none/],
  ['invalid multiple criteria', '{ "allow": { "and": [ { "criterion1": 1, "criterion2": 1 } ] } }', /exactly one key, this one has 2 \(criterion1, criterion2\)/],
  ['invalid criteria type', '{ "allow": { "and": { "criterion1": 1 } } }', /^allow\.and: must be a list of criteria, not a map/],
  ['invalid criteria array type', '{ "allow": { "and": [1] } }', /^allow\.and\[0\]: a criterion is a map with one key/],
  ['an action that is not a map', '{ "allow": [] }', /^allow: must be a map of and\/or\/not\/nor lists, not a list/],
  ['a null operator list (YAML "and:" with nothing after it)', '{ "allow": { "and": null } }', /^allow\.and: must be a list of criteria, not a null/],
];
for (const [name, text, message] of refused) {
  test(`parser refuses: ${name}`, () => assert.match(problems(text)[0]!, message));
}

test('criteria: the key splits on the first slash into name and sub-path; data is kept as written', () => {
  const [rule] = rules('{ "allow": { "and": [ { "criterion1": 1 }, { "criterion2": 2 }, { "claim/example.com/key": "v" } ] } }');
  assert.deepEqual(
    rule!.and.map((c) => [c.name, c.subPath, c.data]),
    [
      ['criterion1', '', 1],
      ['criterion2', '', 2],
      ['claim', 'example.com/key', 'v'],
    ],
  );
});

test('YAML: allow and deny of one map become two rules, allow first whatever the order written', () => {
  const parsed = parsePpl(
    parseYaml(`
deny:
  not:
    - criterion5: 5
allow:
  and:
    - criterion1: 1
    - criterion3/sub: 3
  or:
    - criterion4: 4
`) as unknown,
  );
  assert.ok(parsed.ok);
  assert.deepEqual(
    parsed.policy.rules.map((r) => [r.action, r.and.length, r.or.length, r.not.length, r.nor.length]),
    [
      ['allow', 2, 1, 0, 0],
      ['deny', 0, 0, 1, 0],
    ],
  );
});

test('every rule and criterion knows its path; a base prefixes them', () => {
  const parsed = parsePpl(JSON.parse('[{ "allow": { "or": [ { "email": "a" } ] } }]') as unknown, ['policy']);
  assert.ok(parsed.ok);
  const rule = parsed.policy.rules[0]!;
  assert.deepEqual(rule.path, ['policy', 0, 'allow']);
  assert.equal(formatPath(rule.or[0]!.path), 'policy[0].allow.or[0].email');
});

test('every problem is reported, not only the first', () => {
  assert.deepEqual(problems('[{ "allow": { "iff": [], "and": [1] } }, 2]'), [
    '[0].allow.iff: unsupported conditional "iff": only and, or, not and nor are allowed',
    '[0].allow.and[0]: a criterion is a map with one key (e.g. "email: {is: a@example.com}"), not a number',
    '[1]: must be a map of allow/deny rules, not a number',
  ]);
});

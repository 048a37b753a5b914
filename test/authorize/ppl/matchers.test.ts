import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compileStringListMatcher, compileStringMatcher } from '../../../src/authorize/ppl/matchers.js';

function stringMatcher(data: unknown, lowerCase = false) {
  const m = compileStringMatcher(data, { lowerCase });
  assert.ok(m.ok, !m.ok ? m.message : '');
  return m.matcher;
}

function listMatcher(data: unknown) {
  const m = compileStringListMatcher(data);
  assert.ok(m.ok, !m.ok ? m.message : '');
  return m.matcher;
}

// pom:pkg/policy/criteria/matchers_test.go: what each operator means.
const stringCases: ReadonlyArray<readonly [string, unknown, string, boolean]> = [
  ['contains', { contains: 'test' }, 'a test here', true],
  ['contains, no', { contains: 'test' }, 'tes', false],
  ['ends_with', { ends_with: 'test' }, 'my-test', true],
  ['is', { is: 'test' }, 'test', true],
  ['is, no', { is: 'test' }, 'Test', false],
  ['not', { not: 'test' }, 'other', true],
  ['not, no', { not: 'test' }, 'test', false],
  ['starts_with', { starts_with: 'test' }, 'tester', true],
  ['a string means is', 'test', 'test', true],
  ['a boolean means is, and never equals a string', true, 'true', false],
  ['a number means is, and never equals a string', 1234, '1234', false],
  ['null means is, and never equals a string', null, '', false],
  ['a list means is, and never equals a string', ['a'], 'a', false],
  ['in', { in: ['value1', 'value2', 'value3'] }, 'value2', true],
  ['in, no', { in: ['value1', 'value2', 'value3'] }, 'value4', false],
  ['in ignores non-string members', { in: [1, 'admin'] }, '1', false],
  ['not_in', { not_in: ['value1', 'value2'] }, 'value3', true],
  ['not_in, no', { not_in: ['value1', 'value2'] }, 'value1', false],
  ['operators are ANDed', { starts_with: 'a', ends_with: 'z' }, 'abz', true],
  ['operators are ANDed, one fails', { starts_with: 'a', ends_with: 'z' }, 'aby', false],
  ['no operator holds for everything', {}, 'x', true],
];
for (const [name, data, value, expected] of stringCases) {
  test(`string matcher: ${name}`, () => assert.equal(stringMatcher(data).matches(value), expected));
}

test('string matcher refuses what Pomerium (or Rego’s type checker) refuses', () => {
  const cases: ReadonlyArray<readonly [unknown, RegExp]> = [
    [{ in: 'not-an-array' }, /in matcher requires an array of strings/],
    [{ not_in: 'not-an-array' }, /not_in matcher requires an array of strings/],
    [{ contains: 1 }, /contains needs a string/],
    [{ starts_with: null }, /starts_with needs a string/],
    [{ ends_with: ['x'] }, /ends_with needs a string/],
    [{ equals: 'x' }, /unknown string matcher operator "equals"/],
  ];
  for (const [data, message] of cases) {
    const m = compileStringMatcher(data);
    assert.ok(!m.ok);
    assert.match(m.message, message);
  }
});

test('case-insensitive string matcher lower-cases every configured string', () => {
  const m = stringMatcher({ in: ['A.com', 'b.com'], not: 'C.COM', ends_with: '.COM' }, true);
  assert.equal(m.matches('a.com'), true);
  assert.equal(m.matches('c.com'), false);
});

test('over a list: each operator holds for some element, not_in for none', () => {
  const m = stringMatcher({ starts_with: 'a', ends_with: 'z' });
  assert.equal(m.matchesEachForSome(['ab', 'yz']), true);
  assert.equal(m.matchesEachForSome(['ab']), false);
  assert.equal(stringMatcher({ not_in: ['x'] }).matchesEachForSome([]), true);
  assert.equal(stringMatcher({ not_in: ['x'] }).matchesEachForSome(['y', 'x']), false);
  assert.equal(stringMatcher({ not: 'x' }).matchesEachForSome([]), false);
});

const listCases: ReadonlyArray<readonly [string, unknown, readonly unknown[], boolean]> = [
  ['has', { has: 'test' }, ['a', 'test'], true],
  ['has, no', { has: 'test' }, ['a'], false],
  ['is: exactly one element, equal', { is: 'test' }, ['test'], true],
  ['is: more than one element', { is: 'test' }, ['test', 'x'], false],
  ['exclude', { exclude: 'test' }, ['a'], true],
  ['exclude, no', { exclude: 'test' }, ['a', 'test'], false],
  ['a string means has', 'test', ['test'], true],
  ['a boolean means has', true, [true], true],
  ['a number means has', 1234, [1234], true],
  ['null means has', null, [null], true],
  ['a number is not its text', 1234, ['1234'], false],
  ['maps compare by value', { has: { a: [1] } }, [{ a: [1] }], true],
];
for (const [name, data, values, expected] of listCases) {
  test(`string-list matcher: ${name}`, () => assert.equal(listMatcher(data)(values), expected));
}

test('string-list matcher refuses unknown operators', () => {
  const m = compileStringListMatcher({ contains: 'x' });
  assert.ok(!m.ok);
  assert.match(m.message, /unknown string list matcher operator "contains"/);
});

test('property: not is the negation of is, not_in of in', () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.array(fc.string(), { maxLength: 4 }), (value, other, list) => {
      assert.equal(stringMatcher({ not: other }).matches(value), !stringMatcher({ is: other }).matches(value));
      assert.equal(stringMatcher({ not_in: list }).matches(value), !stringMatcher({ in: list }).matches(value));
      assert.equal(listMatcher({ exclude: other })(list), !listMatcher({ has: other })(list));
    }),
  );
});

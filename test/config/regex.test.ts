import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRe2, groupCount, translateRe2 } from '../../src/config/regex.js';

test('compileRe2 anchors route regexes as ^(?:…)$ so they must match the whole path', () => {
  const re = compileRe2('/api/.*|/health', true);
  assert.ok(re.ok);
  assert.equal(re.value.source, '^(?:\\/api\\/.*|\\/health)$');
  assert.ok(re.value.test('/api/x'));
  assert.ok(re.value.test('/health'));
  assert.ok(!re.value.test('/healthz'));
  assert.ok(!re.value.test('/x/api/y'));
  assert.equal(re.value.global, false);
});

const translations: ReadonlyArray<readonly [string, string, string]> = [
  ['(?P<id>[0-9]+)', '(?<id>[0-9]+)', ''],
  ['(?<id>\\d+)', '(?<id>\\d+)', ''],
  ['(?i)/admin', '/admin', 'i'],
  ['(?is)a.b', 'a.b', 'is'],
  ['(?i)(?m)^x$', '^x$', 'im'],
  ['\\Aabc\\z', '(?<![\\s\\S])abc(?![\\s\\S])', ''],
  ['[[:alpha:]]+', '[A-Za-z]+', ''],
  ['[^[:digit:][:space:]]', '[^0-9\\t\\n\\v\\f\\r ]', ''],
  ['[]a]', '[\\]a]', ''],
  ['\\x{41}\\x42', '\\u0041\\x42', ''],
  ['\\a', '\\x07', ''],
  ['a\\.b\\-c', 'a\\.b\\-c', ''],
  ['(?:a|b)*', '(?:a|b)*', ''],
];

test('translateRe2 rewrites the RE2 syntax JavaScript reads differently', () => {
  for (const [re2, source, flags] of translations) {
    assert.deepEqual(translateRe2(re2), { ok: true, value: { source, flags } }, re2);
  }
});

const refused: ReadonlyArray<readonly [string, RegExp]> = [
  ['a(?=b)', /lookaround/],
  ['a(?!b)', /lookaround/],
  ['(?<=a)b', /lookaround/],
  ['(?<!a)b', /lookaround/],
  ['(a)\\1', /backreference/],
  ['\\p{Greek}', /Unicode class/],
  ['\\pL', /Unicode class/],
  ['a(?i)b', /only a leading/],
  ['(?i:a)', /only a leading/],
  ['(?U)a', /flag "U"/],
  ['[[:alpah:]]', /POSIX/],
  ['[[:^alpha:]]', /POSIX/],
  ['\\Qa.b\\E', /escape \\Q/],
  ['\\C', /escape \\C/],
  ['abc\\', /lone backslash/],
  ['(?#comment)', /unsupported \(\? group/],
  ['(a', /not a valid regular expression/],
  ['*a', /not a valid regular expression/],
];

test('compileRe2 refuses what RE2 lacks and what JavaScript would silently read otherwise', () => {
  for (const [re2, message] of refused) {
    const compiled = compileRe2(re2, true);
    assert.equal(compiled.ok, false, re2);
    if (!compiled.ok) assert.match(compiled.error, message, re2);
  }
});

test('a leading (?i) makes the match case-insensitive', () => {
  const re = compileRe2('(?i)/Admin/.*', true);
  assert.ok(re.ok && re.value.test('/ADMIN/x') && re.value.flags === 'i');
});

test('groupCount counts capture groups, named ones included', () => {
  const count = (p: string): number => {
    const re = compileRe2(p, false);
    assert.ok(re.ok);
    return groupCount(re.value);
  };
  assert.equal(count('^/a$'), 0);
  assert.equal(count('^/(a)/(?:b)/(?P<c>c)$'), 2);
});

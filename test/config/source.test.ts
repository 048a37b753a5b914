import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Findings } from '../../src/config/findings.js';
import { parseSource, toPlain, type MapNode } from '../../src/config/source.js';
import { base, Fixture, problemFor, secret } from './support.js';

const fx = new Fixture();
after(() => fx.remove());

function parse(text: string, format: 'yaml' | 'json' = 'yaml'): { tree: ReturnType<typeof parseSource>; f: Findings } {
  const f = new Findings();
  return { tree: parseSource(text, format, { file: 'c', key: format, lines: true }, f), f };
}

test('every value remembers its line; a key line is the line of the key', () => {
  const { tree } = parse('a: 1\nb:\n  - x\n  - y: 2\n');
  assert.ok(tree?.kind === 'map');
  const [a, b] = tree.entries;
  assert.deepEqual([a?.name, a?.line, a?.value.line], ['a', 1, 1]);
  assert.deepEqual([b?.name, b?.line, b?.value.line], ['b', 2, 3]);
  assert.ok(b?.value.kind === 'list');
  assert.deepEqual(b.value.items.map((i) => i.line), [3, 4]);
});

test('JSON files are read with line numbers too', () => {
  const { tree } = parse('{\n  "address": ":8443",\n  "routes": [\n    {"from": "https://a"}\n  ]\n}\n', 'json');
  assert.ok(tree?.kind === 'map');
  assert.deepEqual(tree.entries.map((e) => [e.name, e.line]), [['address', 2], ['routes', 3]]);
});

test('JSON files must be strict JSON: trailing commas, comments and bare words are errors with a line', () => {
  for (const [text, line] of [
    ['{\n "a": 1,\n}\n', 3],
    ['{\n "a": yes\n}\n', 2],
    ['{\n "a": 1 # note\n}\n', 2],
  ] as const) {
    const { tree, f } = parse(text, 'json');
    assert.equal(tree, null, text);
    assert.equal(f.errors[0]?.line, line, `${text}: ${JSON.stringify(f.errors)}`);
  }
});

test('syntax errors and duplicate keys are reported with their line and nothing of the value', () => {
  const { tree, f } = parse('a: 1\nshared_secret: "s3cr3tv4lue\\q"\na: 2\n');
  assert.equal(tree, null);
  assert.ok(f.errors.some((e) => e.line === 2 && /escape/.test(e.message)));
  assert.ok(f.errors.some((e) => e.line === 3 && /unique/.test(e.message)));
  for (const e of f.errors) assert.doesNotMatch(e.message, /s3cr3t/);
  const json = parse('{"shared_secret": s3cr3tv4lue}', 'json');
  assert.equal(json.tree, null);
  for (const e of json.f.errors) assert.doesNotMatch(e.message, /s3cr3t/);
});

test('anchors, aliases and merge keys work; explicit keys win over merged ones', () => {
  const { tree, f } = parse('defaults: &d\n  timeout: 10s\n  name: base\nroute:\n  <<: *d\n  name: own\nother: *d\n');
  assert.deepEqual(f.errors, []);
  assert.deepEqual(toPlain(tree as MapNode), {
    defaults: { timeout: '10s', name: 'base' },
    route: { name: 'own', timeout: '10s' },
    other: { timeout: '10s', name: 'base' },
  });
});

test('a plain scalar keeps its text for string options (0123 stays 0123)', () => {
  const { tree } = parse('a: 0123\nb: 0x10\nc: "0123"\n');
  assert.ok(tree?.kind === 'map');
  assert.deepEqual(tree.entries.map((e) => (e.value.kind === 'scalar' ? [e.value.value, e.value.text] : null)), [[123, '0123'], [16, '0x10'], ['0123', '0123']]);
});

test('an empty document is an empty map; a non-map top level is an error', () => {
  assert.deepEqual(parse('').tree?.kind, 'map');
  const problems = fx.problems('- a\n- b\n');
  assert.equal(problems[0]?.message, 'the top level must be a map of options');
});

test('a YAML merge of routes loads like the written-out routes', () => {
  const file = `${base()}x-route: &r\n  to: http://127.0.0.1:9000\n  allow_public_unauthenticated_access: true\nroutes:\n  - <<: *r\n    from: https://a.example.com\n  - <<: *r\n    from: https://b.example.com\n`;
  const { config, warnings } = fx.load(file);
  assert.deepEqual(config.routes.map((r) => [r.from.host, r.to[0]?.authority]), [['a.example.com', '127.0.0.1:9000'], ['b.example.com', '127.0.0.1:9000']]);
  assert.ok(warnings.some((w) => w.key === 'x-route' && w.message === 'unknown config option'));
});

test('a .json config loads, and its problems carry JSON line numbers', () => {
  const json = JSON.stringify({ insecure_server: true, shared_secret: secret(), cookie_secret: secret(), log_level: 'loud' }, null, 2);
  const problems = fx.problems(json, {}, 'json');
  assert.deepEqual(problemFor(problems, 'log_level').line, 5);
});

test('TOML files are refused with a clear message', () => {
  const problems = fx.problems('address = ":443"\n', {}, 'toml');
  assert.match(problems[0]?.message ?? '', /TOML is not supported/);
});

test('a block scalar header with extra characters does not echo them', () => {
  const { tree, f } = parse('shared_secret: |s3cr3tv4lue\n  x\n');
  assert.equal(tree, null);
  assert.ok(f.errors.length > 0);
  for (const e of f.errors) assert.doesNotMatch(e.message, /s3cr3t/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseTo } from '../../src/config/upstream.js';

test('parseTo reads an upstream URL into protocol, pool origin (with port), authority and path prefix', () => {
  const cases: ReadonlyArray<readonly [string, string, string, string, string]> = [
    ['http://app.internal', 'http:', 'http://app.internal:80', 'app.internal', ''],
    ['http://app.internal/', 'http:', 'http://app.internal:80', 'app.internal', ''],
    ['https://App.Internal:8443/base', 'https:', 'https://app.internal:8443', 'app.internal:8443', '/base'],
    ['https://app.internal:443/base/', 'https:', 'https://app.internal:443', 'app.internal', '/base/'],
    ['http://127.0.0.1:8080', 'http:', 'http://127.0.0.1:8080', '127.0.0.1:8080', ''],
    ['http://[::1]:9000/x', 'http:', 'http://[::1]:9000', '[::1]:9000', '/x'],
    ['HTTP://upper.example', 'http:', 'http://upper.example:80', 'upper.example', ''],
  ];
  for (const [text, protocol, origin, authority, pathPrefix] of cases) {
    assert.deepEqual(parseTo([text]), { targets: [{ protocol, origin, authority, pathPrefix, weight: 1 }], problems: [] }, text);
  }
});

test('weights follow a comma: all entries weighted, in a list or in one string', () => {
  const weights = (entries: string[]): number[] => parseTo(entries).targets.map((t) => t.weight);
  assert.deepEqual(weights(['http://a,10', 'http://b,20']), [10, 20]);
  assert.deepEqual(weights(['http://a,10,http://b,20']), [10, 20]);
  assert.deepEqual(weights(['http://a,4294967295']), [4294967295]);
  assert.deepEqual(weights(['http://a,http://b']), [1, 1]);
  assert.deepEqual(weights(['http://a', 'http://b']), [1, 1]);
});

const refused: ReadonlyArray<readonly [string[], number | null, RegExp]> = [
  [[], null, /at least one upstream/],
  [['http://a,0'], 0, /zero load balancing weight not permitted/],
  [['http://a,10', 'http://b'], null, /either no weights should be provided, or all endpoints must have non-zero weight specified/],
  [['http://a,x'], 0, /invalid weight "x"/],
  [['http://a,-1'], 0, /invalid weight/],
  [['http://a, 5'], 0, /invalid weight/],
  [['http://a,4294967296'], 0, /invalid weight/],
  [['http://a,1,2'], 0, /more than one weight/],
  [['app.internal:8080'], 0, /absolute URL/],
  [['ftp://a'], 0, /unsupported scheme "ftp"/],
  [['h2c://a'], 0, /h2c:\/\/ upstreams are not supported yet/],
  [['https+unix:///run/app.sock'], 0, /not supported yet/],
  [['tcp://a:22'], 0, /not supported yet/],
  [['udp://a:53'], 0, /not supported yet/],
  [['http://user:secret@a'], 0, /user name or password/],
  [['http://'], 0, /valid URL|must have a host/],
  [['http://a', 'http://b b'], 1, /valid URL/],
];

test('parseTo refuses zero or invalid weights, mixed weighting, unsupported schemes and credentials', () => {
  for (const [entries, index, message] of refused) {
    const { problems } = parseTo(entries);
    const errors = problems.filter((p) => !p.warning);
    assert.ok(errors.length > 0, JSON.stringify(entries));
    assert.ok(errors.some((p) => p.index === index && message.test(p.message)), `${JSON.stringify(entries)}: ${JSON.stringify(errors)}`);
  }
});

test('a credential in to is never repeated in the message', () => {
  for (const p of parseTo(['http://user:s3cr3t@a']).problems) assert.doesNotMatch(p.message, /s3cr3t/);
});

test('a query or fragment in to is ignored with a warning', () => {
  const { targets, problems } = parseTo(['http://a/x?y=1']);
  assert.equal(targets.length, 1);
  assert.deepEqual(problems, [{ index: 0, message: 'the query or fragment is ignored', warning: true }]);
});

// Plain labels: a generated `xn--…` label would be invalid punycode, which URL rightly refuses.
const host = fc.stringMatching(/^[a-z][a-z0-9]{0,10}\.internal$/);
const upstream = fc.record({ host, port: fc.integer({ min: 1, max: 65535 }), weight: fc.integer({ min: 1, max: 0xffffffff }) });

test('weighted to lists keep every weight, in order, however the entries are grouped into strings', () => {
  fc.assert(
    fc.property(fc.array(upstream, { minLength: 1, maxLength: 6 }), fc.boolean(), (list, joined) => {
      const entries = list.map((u) => `http://${u.host}:${u.port},${u.weight}`);
      const parsed = parseTo(joined ? [entries.join(',')] : entries);
      assert.deepEqual(parsed.problems, []);
      assert.deepEqual(
        parsed.targets.map((t) => [t.origin, t.weight]),
        list.map((u) => [`http://${u.host}:${u.port}`, u.weight]),
      );
    }),
  );
});

test('unweighted to lists give every target weight 1; mixing weighted and unweighted is always refused', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(upstream, fc.boolean()), { minLength: 1, maxLength: 6 }), (list) => {
      const entries = list.map(([u, weighted]) => `http://${u.host}:${u.port}${weighted ? `,${u.weight}` : ''}`);
      const parsed = parseTo(entries);
      const weighted = list.filter(([, w]) => w).length;
      const mixed = weighted > 0 && weighted < list.length;
      assert.equal(parsed.problems.some((p) => p.index === null && /either no weights/.test(p.message)), mixed);
      if (weighted === 0) assert.deepEqual(parsed.targets.map((t) => t.weight), list.map(() => 1));
    }),
  );
});

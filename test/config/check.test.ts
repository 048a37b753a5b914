import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfig } from '../../src/config/check.js';
import { b64, base, Fixture } from './support.js';

const fx = new Fixture();
after(() => fx.remove());

const ROUTE = 'routes:\n  - from: https://a.example.com\n    to: http://127.0.0.1:9000\n    allow_public_unauthenticated_access: true\n';

test('a valid config is ok; its warnings print as file:line: key: warning: message', () => {
  const file = fx.config(`${base()}${ROUTE}colour: blue\n`);
  assert.deepEqual(checkConfig(file, {}), { ok: true, lines: [`${file}:8: colour: warning: unknown config option`] });
});

test('problems print as file:line: key: message, in line order, environment last', () => {
  const file = fx.config(`${base()}log_level: loud\naddress: "x:y:z"\n${ROUTE}    timeout: 10\n`);
  const result = checkConfig(file, { TIMEOUT_READ: 'soon', POLICY: b64('- from: https://b.example.com/x\n  to: http://b\n') });
  assert.equal(result.ok, false);
  assert.deepEqual(result.lines, [
    `${file}:4: log_level: unknown log level "loud" (trace, debug, info, warn, error, critical, fatal, panic, off)`,
    `${file}:5: address: must be host:port (an IPv6 host goes in brackets: [::1]:443)`,
    `${file}:10: routes[0].timeout: must be a duration such as 30s, 1h45m or 300ms (a number needs a unit, e.g. 30s)`,
    'env:0: TIMEOUT_READ: invalid duration "soon"',
    'env:0: POLICY[0].from: from URL (https://b.example.com/x) contains a path, but it should be set using the path field instead',
  ]);
});

test('a missing file is not ok, with one line saying why', () => {
  const file = `${fx.dir}/absent.yaml`;
  const result = checkConfig(file, {});
  assert.equal(result.ok, false);
  assert.equal(result.lines.length, 1);
  assert.match(result.lines[0] ?? '', new RegExp(`^${file}:0: config: the configuration file cannot be read: .*ENOENT`));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInteractionPath } from '../../src/devidp/interactions.js';

test('interaction paths are /interaction/<uid> and /interaction/<uid>/login, nothing else', () => {
  const table: ReadonlyArray<readonly [string, ReturnType<typeof parseInteractionPath>]> = [
    ['/interaction/abc_DEF-123', { uid: 'abc_DEF-123', action: 'page' }],
    ['/interaction/abc/login', { uid: 'abc', action: 'login' }],
    ['/interaction/', null],
    ['/interaction//login', null],
    ['/interaction/abc/', null],
    ['/interaction/abc/login/', null],
    ['/interaction/abc/confirm', null],
    ['/interaction/a%2Fb', null],
    ['/interaction/a.b', null],
    ['/interactions/abc', null],
    ['/auth', null],
  ];
  for (const [path, expected] of table) assert.deepEqual(parseInteractionPath(path), expected, path);
});

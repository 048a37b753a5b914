import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PosternError } from '../../src/errors.js';
import { loadUws, nativeBinaryPath } from '../../src/frontend/uws.js';

test('the native binary for this Node.js loads and has App and SSLApp', () => {
  const uws = loadUws();
  assert.equal(typeof uws.App, 'function');
  assert.equal(typeof uws.SSLApp, 'function');
  assert.match(nativeBinaryPath(), new RegExp(`uws_${process.platform}_${process.arch}_${process.versions.modules}\\.node$`));
});

test('a missing native binary refuses to start instead of falling back to JavaScript', () => {
  const missing = join(mkdtempSync(join(tmpdir(), 'postern-uws-')), 'uws_none.node');
  assert.throws(
    () => loadUws(missing),
    (err: unknown) =>
      err instanceof PosternError &&
      err.code === 'PST_UWS_NATIVE_MISSING' &&
      err.message.includes(missing) &&
      err.message.includes('refuses to run on the slow JavaScript fallback'),
  );
});

test('a file that is not a native module is refused the same way', () => {
  const bogus = join(mkdtempSync(join(tmpdir(), 'postern-uws-')), 'uws_bogus.node');
  writeFileSync(bogus, 'not an ELF file');
  assert.throws(() => loadUws(bogus), (err: unknown) => err instanceof PosternError && err.code === 'PST_UWS_NATIVE_MISSING');
});

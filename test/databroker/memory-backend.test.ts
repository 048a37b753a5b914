import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend } from '../../src/databroker/memory-backend.js';

const op = (id: string) => ({ type: 't', id, data: { id }, expiresAt: null, modifiedAt: 1 });

test('adopt() continues from the snapshot: later writes take the versions after it, in its history', async () => {
  const backend = new MemoryBackend();
  await backend.write(op('a'));
  const before = backend.serverVersion;
  await assert.rejects(backend.adopt({ serverVersion: before, version: 9, records: [] }), /starts another history/);
  await backend.adopt({ serverVersion: 'adopted', version: 9, records: [] });
  assert.equal(backend.serverVersion, 'adopted');
  assert.equal((await backend.write(op('b'))).version, 10);
  await backend.close();
  await assert.rejects(backend.adopt({ serverVersion: 'later', version: 1, records: [] }), { code: 'PST_DATABROKER_CLOSED' });
});

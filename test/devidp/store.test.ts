import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/devidp/store.js';

test('records expire after their lifetime and are gone for every lookup', async () => {
  let now = 1_000_000;
  const store = new MemoryStore(() => now);
  const sessions = store.adapter('Session');
  await sessions.upsert('s1', { uid: 'u1', accountId: 'alice' }, 10);
  assert.deepEqual(await sessions.find('s1'), { uid: 'u1', accountId: 'alice' });
  assert.deepEqual(await sessions.findByUid('u1'), { uid: 'u1', accountId: 'alice' });
  now += 10_000;
  assert.equal(await sessions.find('s1'), undefined);
  assert.equal(await sessions.findByUid('u1'), undefined);
});

test('models are kept apart, and one store never sees another’s records', async () => {
  const a = new MemoryStore();
  const b = new MemoryStore();
  await a.adapter('AccessToken').upsert('x', { grantId: 'g' }, 60);
  assert.equal(await a.adapter('RefreshToken').find('x'), undefined);
  assert.equal(await b.adapter('AccessToken').find('x'), undefined);
  assert.ok(await a.adapter('AccessToken').find('x'));
});

test('consume marks a record consumed; destroy removes it', async () => {
  const store = new MemoryStore(() => 5_000);
  const codes = store.adapter('AuthorizationCode');
  await codes.upsert('c', { grantId: 'g' }, 60);
  await codes.consume('c');
  assert.equal((await codes.find('c'))?.consumed, 5);
  await codes.destroy('c');
  assert.equal(await codes.find('c'), undefined);
});

test('revokeByGrantId removes the model’s records of that grant only', async () => {
  const store = new MemoryStore();
  const tokens = store.adapter('RefreshToken');
  await tokens.upsert('r1', { grantId: 'g1' }, 60);
  await tokens.upsert('r2', { grantId: 'g2' }, 60);
  await tokens.revokeByGrantId('g1');
  assert.equal(await tokens.find('r1'), undefined);
  assert.ok(await tokens.find('r2'));
});

test('revokeGrantsOf removes an account’s grants and every token under them; endSessionsOf its sessions', async () => {
  const store = new MemoryStore();
  await store.adapter('Grant').upsert('g1', { accountId: 'alice' }, 60);
  await store.adapter('Grant').upsert('g2', { accountId: 'bob' }, 60);
  await store.adapter('RefreshToken').upsert('r1', { grantId: 'g1', accountId: 'alice' }, 60);
  await store.adapter('AccessToken').upsert('a1', { grantId: 'g1', accountId: 'alice' }, 60);
  await store.adapter('RefreshToken').upsert('r2', { grantId: 'g2', accountId: 'bob' }, 60);
  await store.adapter('Session').upsert('s1', { uid: 'u1', accountId: 'alice' }, 60);
  await store.adapter('Session').upsert('s2', { uid: 'u2', accountId: 'bob' }, 60);
  assert.equal(store.revokeGrantsOf('alice'), 1);
  for (const [model, id] of [['Grant', 'g1'], ['RefreshToken', 'r1'], ['AccessToken', 'a1']] as const) assert.equal(await store.adapter(model).find(id), undefined, id);
  assert.ok(await store.adapter('RefreshToken').find('r2'));
  assert.ok(await store.adapter('Session').find('s1'), 'revoking grants keeps the session');
  assert.equal(store.endSessionsOf('alice'), 1);
  assert.equal(await store.adapter('Session').find('s1'), undefined);
  assert.ok(await store.adapter('Session').find('s2'));
});

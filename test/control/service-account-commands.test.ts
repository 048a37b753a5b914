import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { PosternError } from '../../src/errors.js';
import { MemoryDatabroker } from '../../src/databroker/memory.js';
import { ServiceAccounts, type ServiceAccountInfo } from '../../src/authenticate/service-accounts.js';
import { serviceAccountCommands } from '../../src/control/service-account-commands.js';
import type { Logger } from '../../src/telemetry/logger.js';

function setup(): { commands: ReturnType<typeof serviceAccountCommands>; accounts: ServiceAccounts; log: string[] } {
  const log: string[] = [];
  const logger: Logger = pino({ level: 'info' }, { write: (line: string) => void log.push(line) });
  const db = new MemoryDatabroker({ logger, sweepIntervalMs: 0 });
  const accounts = new ServiceAccounts(db, Buffer.alloc(32, 1));
  return { commands: serviceAccountCommands(accounts, logger), accounts, log };
}

async function refusal(promise: unknown): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof PosternError);
    return { code: err.code, message: err.message };
  }
  assert.fail('expected a refusal');
}

test('create takes name, expires_in and email, and logs the new account but never its token', async () => {
  const { commands, accounts, log } = setup();
  const result = (await commands['service-account.create']!({ name: 'ci', expires_in: '1d12h', email: 'ci@example.com' })) as {
    token: string;
    account: ServiceAccountInfo;
  };
  assert.equal(result.account.expiresAt - result.account.createdAt, 36 * 3_600_000);
  assert.equal(accounts.verify(result.token)?.userId, 'sa:ci');
  const created = log.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'service account created');
  assert.ok(created);
  assert.equal(created['service_account_id'], result.account.id);
  assert.equal(created['user'], 'sa:ci');
  assert.ok(!log.join('').includes(result.token.slice(-64)));
});

test('create refuses missing or mistyped arguments and bad lifetimes with the reason', async () => {
  const { commands } = setup();
  const create = commands['service-account.create']!;
  const cases: ReadonlyArray<readonly [Record<string, unknown>, string, RegExp]> = [
    [{}, 'PST_CONTROL_BAD_REQUEST', /"name" is required/],
    [{ name: 7 }, 'PST_CONTROL_BAD_REQUEST', /"name" must be a string/],
    [{ name: 'ci', expires_in: 30 }, 'PST_CONTROL_BAD_REQUEST', /"expires_in" must be a string/],
    [{ name: 'ci', email: ['a@b'] }, 'PST_CONTROL_BAD_REQUEST', /"email" must be a string/],
    [{ name: 'ci', expires_in: 'soon' }, 'PST_SERVICE_ACCOUNT_INVALID', /invalid lifetime "soon"/],
    [{ name: 'ci', expires_in: '0d' }, 'PST_SERVICE_ACCOUNT_INVALID', /must be positive/],
    [{ name: 'CI' }, 'PST_SERVICE_ACCOUNT_INVALID', /the name must be/],
  ];
  for (const [args, code, message] of cases) {
    const err = await refusal(create(args));
    assert.equal(err.code, code, JSON.stringify(args));
    assert.match(err.message, message);
  }
});

test('list answers every live account; revoke answers whether one was revoked and logs it', async () => {
  const { commands, log } = setup();
  const { account } = (await commands['service-account.create']!({ name: 'ci' })) as { account: ServiceAccountInfo };
  assert.deepEqual(await commands['service-account.list']!({}), { accounts: [account] });
  assert.deepEqual(await commands['service-account.revoke']!({ id: account.id }), { revoked: true });
  assert.deepEqual(await commands['service-account.revoke']!({ id: account.id }), { revoked: false });
  assert.deepEqual(await commands['service-account.list']!({}), { accounts: [] });
  assert.equal(log.filter((l) => l.includes('service account revoked')).length, 1);
  assert.equal((await refusal(commands['service-account.revoke']!({}))).code, 'PST_CONTROL_BAD_REQUEST');
});

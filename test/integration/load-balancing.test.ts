// Several `to` targets on one route: each load_balancing_policy spreads
// requests over them (round_robin exactly, weights included), and a dead
// target yields a prompt 502 while the live one keeps answering.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '../helpers/client.js';
import { baseConfig, publicRoute, startPostern, type Postern } from '../helpers/postern.js';
import { refusedPort, startEcho, type EchoReply, type Upstream } from '../helpers/upstreams.js';

let a: Upstream;
let b: Upstream;
let c: Upstream;
let proxy: Postern;

before(async () => {
  a = await startEcho('a');
  b = await startEcho('b');
  c = await startEcho('c');
  const dead = await refusedPort();
  const three = [a.origin, b.origin, c.origin];
  proxy = await startPostern(
    baseConfig([
      publicRoute('http://rr-default.localhost', three),
      publicRoute('http://rr.localhost', three, { load_balancing_policy: 'round_robin' }),
      publicRoute('http://rr-weighted.localhost', [`${a.origin},1`, `${b.origin},3`], { load_balancing_policy: 'round_robin' }),
      publicRoute('http://random.localhost', three, { load_balancing_policy: 'random' }),
      publicRoute('http://random-weighted.localhost', [`${a.origin},1`, `${b.origin},3`], { load_balancing_policy: 'random' }),
      publicRoute('http://least.localhost', three, { load_balancing_policy: 'least_request' }),
      publicRoute('http://half-dead.localhost', [a.origin, `http://127.0.0.1:${dead}`]),
    ]),
  );
});

after(async () => {
  await proxy?.stop();
  for (const u of [a, b, c]) await u?.close();
});

/** Sends `n` sequential requests and counts which upstream answered each. */
async function spread(host: string, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await request(proxy.url(host, `/lb/${i}`));
    assert.equal(res.status, 200, `request ${i}: ${res.text()}`);
    const name = res.json<EchoReply>().name;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

describe('round_robin', () => {
  test('is the default and hits each of three targets exactly 10 times in 30 requests', async () => {
    assert.deepEqual(await spread('rr-default.localhost', 30), { a: 10, b: 10, c: 10 });
  });

  test('named explicitly, spreads exactly evenly', async () => {
    assert.deepEqual(await spread('rr.localhost', 30), { a: 10, b: 10, c: 10 });
  });

  test('with weights 1 and 3 gives exactly 10 and 30 of 40 requests', async () => {
    assert.deepEqual(await spread('rr-weighted.localhost', 40), { a: 10, b: 30 });
  });
});

describe('random', () => {
  test('reaches every target (each at least 10 of 90 requests)', async () => {
    const counts = await spread('random.localhost', 90);
    for (const name of ['a', 'b', 'c']) assert.ok((counts[name] ?? 0) >= 10, `${name}: ${JSON.stringify(counts)}`);
  });

  test('honours weights 1:3 (the heavy target gets 60–90 % of 200 requests)', async () => {
    const counts = await spread('random-weighted.localhost', 200);
    const share = (counts['b'] ?? 0) / 200;
    assert.ok(share >= 0.6 && share <= 0.9, `b got ${(share * 100).toFixed(0)} %: ${JSON.stringify(counts)}`);
  });
});

describe('least_request', () => {
  test('spreads sequential requests over every target', async () => {
    const counts = await spread('least.localhost', 60);
    for (const name of ['a', 'b', 'c']) assert.ok((counts[name] ?? 0) >= 1, `${name}: ${JSON.stringify(counts)}`);
  });

  test('concurrent requests all succeed', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => request(proxy.url('least.localhost', `/c/${i}`))));
    assert.deepEqual(results.map((r) => r.status), Array(30).fill(200));
  });
});

describe('a dead target among live ones', () => {
  test('the dead target yields a prompt 502, the live one 200, and nothing hangs', async (t) => {
    const before = a.requests.length;
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await request(proxy.url('half-dead.localhost', `/hd/${i}`), { timeoutMs: 5_000 });
      assert.ok(res.ms < 3_000, `request ${i} took ${res.ms} ms`);
      statuses.push(res.status);
      if (res.status === 200) assert.equal(res.json<EchoReply>().name, 'a');
      else assert.equal(res.status, 502);
    }
    t.diagnostic(`statuses: ${statuses.join(' ')}`);
    const ok = statuses.filter((s) => s === 200).length;
    assert.ok(ok > 0, 'the live target answered');
    assert.ok(statuses.includes(502), 'the dead target was tried and reported as 502');
    assert.equal(a.requests.length - before, ok, 'every 200 came from the live target');
  });
});

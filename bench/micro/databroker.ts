// The databroker's replica over the memory backend: puts/s and gets/s, and
// the memory a session costs with a million of them. Run by hand after a
// build (the heap must hold the million sessions, and gc() must be exposed):
//   node --expose-gc --max-old-space-size=8192 dist/bench/micro/databroker.js [sessions]
// Throughput cases run warm-up rounds first, then several timed rounds; the
// table shows the median and best round. Memory is the heap growth after a
// full GC: first for the session data alone (what the records carry), then
// for the same data stored through the replica (records, shards, the userId
// index and the change feed on top).
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import type { SessionData } from '../../src/authenticate/records.js';
import { MemoryDatabroker } from '../../src/databroker/memory.js';

const ROUNDS = 7;
const SESSIONS = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('run with --expose-gc (see the comment at the top of this file)');
  process.exit(2);
}

let sink = 0;

interface Result {
  readonly name: string;
  readonly median: number;
  readonly best: number;
}

function summary(name: string, rounds: number[]): Result {
  rounds.sort((a, b) => a - b);
  return { name, median: rounds[ROUNDS >> 1]!, best: rounds[0]! };
}

function measure(name: string, iterations: number, fn: (i: number) => unknown): Result {
  for (let i = 0; i < iterations; i++) sink ^= fn(i) === null ? 0 : 1;
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink ^= fn(i) === null ? 0 : 1;
    rounds.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  return summary(name, rounds);
}

async function measureAsync(name: string, iterations: number, fn: (i: number) => Promise<unknown>): Promise<Result> {
  for (let i = 0; i < iterations; i++) sink ^= (await fn(i)) === null ? 0 : 1;
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink ^= (await fn(i)) === null ? 0 : 1;
    rounds.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  return summary(name, rounds);
}

// Token text per session, decoded from a random pool: each call makes a new
// flat string, as parsing a token response does. (Slicing one long string
// would not: V8 would keep slices pointing into it, and the heap would
// look smaller than it is.)
const POOL = randomBytes(4 * 1024 * 1024);
function token(i: number, salt: number, length: number): string {
  const bytes = Math.ceil((length * 3) / 4);
  const at = (i * 7919 + salt * 104_729) % (POOL.length - bytes);
  return POOL.toString('base64url', at, at + bytes);
}

const IDP_ID = 'Bm9RzVvRHTfi4jsQTMq6yjhnsH8ncv4Y1hy2f4cyFUq5';
const GROUPS = ['engineering', 'staff', 'oncall'];

/**
 * A session as authentication stores it after an OIDC login with a provider
 * that issues JWT access tokens (Okta, Entra ID): an ID token and an access
 * token of about 900 characters each, a refresh token, and the usual claims.
 */
function sessionData(i: number, now: number): SessionData {
  const userId = token(i, 1, 20);
  return {
    userId,
    idpId: IDP_ID,
    issuedAt: now,
    expiresAt: now + 14 * 3_600_000,
    idToken: { raw: token(i, 2, 880), issuer: 'https://idp.example.com', subject: userId, issuedAt: now, expiresAt: now + 3_600_000 },
    oauth: { accessToken: token(i, 3, 880), tokenType: 'Bearer', expiresAt: now + 3_600_000, refreshToken: token(i, 4, 43) },
    claims: {
      sub: userId,
      email: `user${i}@example.com`,
      email_verified: true,
      name: `User Number ${i}`,
      groups: GROUPS,
    },
    refreshedAt: 0,
  };
}

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const MiB = 1024 * 1024;
const logger = pino({ level: 'silent' });
const NOW = Date.now();

// Throughput first, on a store of realistic size (100 000 sessions), so the
// maps are as deep as in production but the memory run below starts clean.
const THROUGHPUT_SESSIONS = Math.min(SESSIONS, 100_000);
const db = new MemoryDatabroker({ logger, sweepIntervalMs: 0, indexes: { session: ['userId'] } });
const ids = Array.from({ length: THROUGHPUT_SESSIONS }, (_, i) => token(i, 5, 22));
const data = ids.map((_, i) => sessionData(i, NOW));
for (let i = 0; i < ids.length; i++) await db.put('session', ids[i]!, data[i], { expiresAt: data[i]!.expiresAt });
const missing = ids.map((id) => `${id}x`);
const users = data.map((d) => d.userId);

const results: Result[] = [
  measure('get, hit (random session of 100k)', 1_000_000, (i) => db.get('session', ids[(i * 7_919) % ids.length]!)),
  measure('get, miss', 1_000_000, (i) => db.get('session', missing[(i * 7_919) % missing.length]!)),
  measure('query session by userId', 200_000, (i) => db.query('session', 'userId', users[(i * 7_919) % users.length]!)),
  await measureAsync('put, replace a session (awaited one by one)', 50_000, (i) => {
    const n = (i * 7_919) % ids.length;
    return db.put('session', ids[n]!, data[n], { expiresAt: data[n]!.expiresAt });
  }),
  await measureAsync('put, 100 concurrent (per put)', 500, async (i) => {
    const batch: Promise<unknown>[] = [];
    for (let k = 0; k < 100; k++) {
      const n = (i * 100 + k) % ids.length;
      batch.push(db.put('session', ids[n]!, data[n], { expiresAt: data[n]!.expiresAt }));
    }
    await Promise.all(batch);
    return batch;
  }),
  await measureAsync('delete + put back', 20_000, async (i) => {
    const n = (i * 7_919) % ids.length;
    await db.delete('session', ids[n]!);
    return db.put('session', ids[n]!, data[n], { expiresAt: data[n]!.expiresAt });
  }),
];
await db.close();

const width = Math.max(...results.map((r) => r.name.length));
console.log(`${'case'.padEnd(width)}  ${'median ns/op'.padStart(12)}  ${'best ns/op'.padStart(10)}  ${'ops/s (median)'.padStart(14)}`);
for (const r of results) {
  // The concurrent case times a batch of 100 puts per iteration.
  const perOp = r.name.startsWith('put, 100 concurrent') ? r.median / 100 : r.name.startsWith('delete + put') ? r.median / 2 : r.median;
  console.log(`${r.name.padEnd(width)}  ${r.median.toFixed(1).padStart(12)}  ${r.best.toFixed(1).padStart(10)}  ${Math.round(1e9 / perOp).toLocaleString('en').padStart(14)}`);
}

// Memory: the data alone, then the same data in the store.
data.length = 0;
ids.length = 0;
const base = heapUsed();
const sessions: SessionData[] = new Array<SessionData>(SESSIONS);
const sessionIds: string[] = new Array<string>(SESSIONS);
for (let i = 0; i < SESSIONS; i++) {
  sessions[i] = sessionData(i, NOW);
  sessionIds[i] = token(i, 6, 22);
}
const dataOnly = heapUsed() - base;
const store = new MemoryDatabroker({ logger, sweepIntervalMs: 0, indexes: { session: ['userId'] } });
const loadStart = process.hrtime.bigint();
for (let i = 0; i < SESSIONS; i++) await store.put('session', sessionIds[i]!, sessions[i], { expiresAt: sessions[i]!.expiresAt });
const loadNs = Number(process.hrtime.bigint() - loadStart);
const withStore = heapUsed() - base;
const overhead = withStore - dataOnly;
console.log('');
console.log(`sessions stored                      ${SESSIONS.toLocaleString('en')} (loaded at ${Math.round((SESSIONS * 1e9) / loadNs).toLocaleString('en')} puts/s)`);
console.log(`heap, session data alone             ${(dataOnly / MiB).toFixed(1)} MiB  (${Math.round(dataOnly / SESSIONS)} bytes/session)`);
console.log(`heap, data + replica                 ${(withStore / MiB).toFixed(1)} MiB  (${Math.round(withStore / SESSIONS)} bytes/session)`);
console.log(`the replica's own share              ${(overhead / MiB).toFixed(1)} MiB  (${Math.round(overhead / SESSIONS)} bytes/session: record, shard maps, userId index, feed)`);
console.log(`(${ROUNDS} timed rounds per case, node ${process.version}; sink ${sink & 1}; ${store.version} versions)`);
await store.close();

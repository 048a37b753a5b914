// The `postgres` storage backend against a real server: writes per second,
// and how long a change takes to reach another instance (the time from a
// sign-out on one instance to its refusal on another is this plus a
// synchronous replica update). Run by hand after a build:
//   node dist/bench/micro/postgres-backend.js [--seconds=3] [--rounds=3] [--samples=1000] [--records=20000]
// PG_DSN names the server (default: the local one); the bench works in a
// schema of its own and drops it at the end. Records are ~1 KB sessions
// like the proxy's, sealed with the databroker's real sealer. Two backends
// (two "instances") share the schema, both subscribed, as in production.
//
// "1 in flight": one writer waiting for each acknowledgement (round trip +
// COMMIT with its WAL flush). "32 in flight": the writes queued while a
// batch is on its way go together in the next (group commit). "2 instances":
// the fleet's rate, both taking the writers' lock in meta.
// Notification latency, idle: from write() called on A to B's listener.
// Under load: from A's acknowledgement to B's listener, for every write of
// a 32-in-flight burst.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import type { Change, WriteOp } from '../../src/databroker/backend.js';
import { openPostgresBackend, type PostgresBackend } from '../../src/databroker/postgres/index.js';
import { RecordSealer } from '../../src/databroker/sealer.js';

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const n = arg === undefined ? fallback : Number(arg.slice(name.length + 3));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

const SECONDS = option('seconds', 3);
const ROUNDS = option('rounds', 3);
const SAMPLES = option('samples', 1_000);
const RECORDS = option('records', 20_000);
const DSN = process.env['PG_DSN'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `postern_bench_${randomBytes(4).toString('hex')}`;

const logger = pino({ level: 'warn' });
const sealer = new RecordSealer([randomBytes(32)]);

function sessionData(i: number): unknown {
  return {
    userId: `CiQ5OGQ4YjQ1Ny1lMGI2LTRhOGQtOTk0Yi1hYjJiNTc4NmU2NjYSBWxvY2Fs${i}`,
    idpId: 'idp',
    issuedAt: Date.now(),
    expiresAt: Date.now() + 3_600_000,
    idToken: { raw: `eyJhbGciOiJSUzI1NiJ9.${'e30'.repeat(60)}.c2ln`, issuer: 'https://idp.example.com', subject: 'u', issuedAt: 0, expiresAt: 0 },
    oauth: { accessToken: `ya29.${'a'.repeat(180)}`, tokenType: 'Bearer', expiresAt: 0, refreshToken: `1//${'r'.repeat(100)}` },
    claims: { email: 'ada.lovelace@corp.example.com', name: 'Ada Lovelace', groups: ['engineering', 'platform', 'oncall', 'staff'] },
    refreshedAt: 0,
  };
}

let counter = 0;
function op(): WriteOp {
  counter++;
  return { type: 'session', id: `s${counter % 50_000}`, data: sessionData(counter), expiresAt: Date.now() + 3_600_000, modifiedAt: Date.now() };
}

function open(): Promise<PostgresBackend> {
  return openPostgresBackend({ dsn: DSN, sealer, logger, schema: SCHEMA, retention: { pruneIntervalMs: 0 } });
}

/** Subscribes as the replica does and calls `onChange` with each change and when it arrived. */
async function follow(backend: PostgresBackend, onChange: (change: Change, at: number) => void): Promise<void> {
  const snapshot = await backend.load();
  backend.subscribe(snapshot.version, (change) => onChange(change, performance.now()), () => undefined);
  while (!backend.health().ok) await new Promise((r) => setTimeout(r, 10));
}

/** Writes for SECONDS with `inFlight` outstanding; returns writes per second. */
async function writesPerSecond(backend: PostgresBackend, inFlight: number): Promise<number> {
  const deadline = performance.now() + SECONDS * 1_000;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await backend.write(op());
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / ((performance.now() - started) / 1_000);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function median(values: number[]): number {
  values.sort((a, b) => a - b);
  return values[values.length >> 1]!;
}

function line(name: string, value: string): void {
  console.log(`${name.padEnd(48)} ${value}`);
}

async function main(): Promise<void> {
  const a = await open();
  const b = await open();
  const arrivedAtB = new Map<number, number>();
  await follow(a, () => undefined);
  await follow(b, (change, at) => arrivedAtB.set(change.version, at));

  console.log(`postgres backend, ${DSN.replace(/\/\/[^@]*@/, '//')} schema ${SCHEMA}; ${SECONDS} s per run, median of ${ROUNDS}`);
  const cases: [string, () => Promise<number>][] = [
    ['writes/s, 1 in flight', () => writesPerSecond(a, 1)],
    ['writes/s, 32 in flight', () => writesPerSecond(a, 32)],
    // The fleet's rate: both instances take the same lock in meta.
    ['writes/s, 2 instances × 32 in flight (sum)', async () => (await Promise.all([writesPerSecond(a, 32), writesPerSecond(b, 32)])).reduce((x, y) => x + y)],
  ];
  const results = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of cases) results.get(name)!.push(await run());
  }
  for (const [name] of cases) line(name, `${median(results.get(name)!).toFixed(0)}`);

  // Idle: one change at a time, from write() on A to B's listener.
  const idle: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    const change = await a.write(op());
    while (!arrivedAtB.has(change.version)) await new Promise((r) => setImmediate(r));
    idle.push(arrivedAtB.get(change.version)! - started);
  }
  idle.sort((x, y) => x - y);
  line(`A write() → B listener, idle (${SAMPLES} samples)`, `p50 ${percentile(idle, 50).toFixed(2)} ms  p99 ${percentile(idle, 99).toFixed(2)} ms  max ${idle[idle.length - 1]!.toFixed(2)} ms`);

  // Under load: every write of a 32-in-flight burst, from A's acknowledgement to B's listener.
  const acked = new Map<number, number>();
  const burst = async (): Promise<void> => {
    for (let i = 0; i < SAMPLES / 32; i++) {
      const change = await a.write(op());
      acked.set(change.version, performance.now());
    }
  };
  await Promise.all(Array.from({ length: 32 }, burst));
  const lastVersion = Math.max(...acked.keys());
  while (!arrivedAtB.has(lastVersion)) await new Promise((r) => setTimeout(r, 5));
  const loaded = [...acked].map(([v, at]) => arrivedAtB.get(v)! - at).sort((x, y) => x - y);
  line(`A ack → B listener, 32 in flight (${loaded.length} samples)`, `p50 ${percentile(loaded, 50).toFixed(2)} ms  p99 ${percentile(loaded, 99).toFixed(2)} ms  max ${loaded[loaded.length - 1]!.toFixed(2)} ms`);

  // A new instance starting on a store of RECORDS sessions.
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < RECORDS; i++) {
    pending.push(a.write({ type: 'session', id: `load${i}`, data: sessionData(i), expiresAt: null, modifiedAt: Date.now() }));
    if (pending.length === 64) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  const c = await open();
  const started = performance.now();
  const snapshot = await c.load();
  line(`load() of ${snapshot.records.length} sessions`, `${(performance.now() - started).toFixed(0)} ms`);
  await c.close();

  await a.close();
  await b.close();
}

try {
  await main();
} finally {
  const client = new pg.Client({ connectionString: DSN });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await client.end();
}

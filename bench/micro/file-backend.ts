// Throughput of the `file` storage backend per fsync policy, and how long a
// restart takes to load a store of many sessions. Run by hand after a build:
//   node dist/bench/micro/file-backend.js [--records=100000] [--seconds=3] [--rounds=3]
// The store lives in the OS temp directory (on this machine: ext4 on a
// virtual disk, so fsync reaches the host). Records are ~1 KB sessions like
// the proxy's. "1 in flight" is one writer waiting for each acknowledgement
// (latency-bound); "64 in flight" shows group commit: writes that arrive
// during an fsync share the next one.
//
// The sealer is the databroker's own (RecordSealer: crypto/aead.ts tokens,
// which are base64url text, turned into bytes). The load is measured a
// second time with a sealer that does the same AES-256-GCM on Buffers, to
// show what that text step costs a restart.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { StorageBackend, ValueSealer } from '../../src/databroker/backend.js';
import { openFileBackend, type FsyncPolicy } from '../../src/databroker/file/index.js';
import { RecordSealer } from '../../src/databroker/sealer.js';

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const n = arg === undefined ? fallback : Number(arg.slice(name.length + 3));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

const RECORDS = option('records', 100_000);
const SECONDS = option('seconds', 3);
/** Put cases run interleaved this many times; the median is shown (fsync latency on a shared virtual disk wanders). */
const ROUNDS = option('rounds', 3);
const key = Buffer.alloc(32, 9);
const recordSealer = new RecordSealer([key]);
const logger = pino({ level: 'silent' });

/** AES-256-GCM on Buffers, laid out like aead.ts's tokens: version(1) ‖ keyId(4) ‖ iv(12) ‖ ciphertext ‖ tag(16). */
const KEY_ID = Buffer.from([1, 2, 3, 4]);
const bufferSealer: ValueSealer = {
  seal(plaintext, aad) {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(aad));
    return Buffer.concat([Buffer.from([1]), KEY_ID, iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  },
  open(blob, aad) {
    if (blob.length < 33 || blob[0] !== 1 || KEY_ID.compare(blob, 1, 5) !== 0) return null;
    const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(5, 17));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(blob.subarray(blob.length - 16));
    try {
      return Buffer.concat([decipher.update(blob.subarray(17, blob.length - 16)), decipher.final()]);
    } catch {
      return null;
    }
  },
};

function session(i: number): unknown {
  const now = 1_765_000_000_000;
  return {
    userId: `CiQ5OGQ4YjQ1Ny1lMGI2LTRhOGQtOTk0Yi1hYjJiNTc4NmU2NjYSBWxvY2Fs-${i}`,
    idpId: 'idp',
    issuedAt: now,
    expiresAt: now + 3_600_000,
    idToken: { raw: `eyJhbGciOiJSUzI1NiJ9.${'e30'.repeat(60)}.c2ln${i}`, issuer: 'https://idp.example.com', subject: `user-${i}`, issuedAt: now, expiresAt: now + 3_600_000 },
    oauth: { accessToken: `ya29.a0AfH6SMBx-access-token-${i}-${'t'.repeat(120)}`, tokenType: 'Bearer', expiresAt: now + 3_600_000, refreshToken: `1//refresh-${i}-${'r'.repeat(60)}` },
    claims: { email: `user${i}@corp.example.com`, name: `User ${i}`, groups: ['engineering', 'platform', 'oncall', 'staff'], department: 'R&D' },
    refreshedAt: now,
  };
}

async function open(dir: string, fsync: FsyncPolicy, sealer: ValueSealer): Promise<StorageBackend> {
  const backend = await openFileBackend({ dir, sealer, fsync, snapshotEvery: 10_000_000, logger });
  await backend.load();
  return backend;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { value, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

/** Puts for SECONDS with `inFlight` writers; returns puts per second. */
async function putsPerSecond(fsync: FsyncPolicy, inFlight: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'postern-bench-file-'));
  try {
    const backend = await open(dir, fsync, recordSealer);
    const deadline = Date.now() + SECONDS * 1000;
    let done = 0;
    const started = process.hrtime.bigint();
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; Date.now() < deadline; i++) {
        await backend.write({ type: 'session', id: `s-${w}-${i}`, data: session(i), modifiedAt: Date.now(), expiresAt: null });
        done++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, (_, w) => writer(w)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await backend.close();
    return done / seconds;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes RECORDS sessions, 256 in flight; in its own scope so its records are garbage before a load is timed. */
async function fill(dir: string, sealer: ValueSealer): Promise<void> {
  const writer = await open(dir, 'never', sealer);
  const batch = 256;
  for (let i = 0; i < RECORDS; i += batch) {
    const writes: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(RECORDS, i + batch); j++) writes.push(writer.write({ type: 'session', id: `s-${j}`, data: session(j), modifiedAt: 0, expiresAt: null }));
    await Promise.all(writes);
  }
  await writer.close();
}

/** Loads the store from its log, then compacts it; in its own scope for the same reason. */
async function loadAndCompact(dir: string, sealer: ValueSealer): Promise<{ loadMs: number; compactMs: number }> {
  const loaded = await timed(async () => {
    const backend = await openFileBackend({ dir, sealer, fsync: 'never', snapshotEvery: 10_000_000, logger });
    return { backend, snapshot: await backend.load() };
  });
  const { backend, snapshot } = loaded.value;
  if (snapshot.records.length !== RECORDS) throw new Error(`loaded ${snapshot.records.length} records, wrote ${RECORDS}`);
  const compaction = await timed(() => backend.compact!({ ...snapshot, records: [] }));
  await backend.close();
  return { loadMs: loaded.ms, compactMs: compaction.ms };
}

/** Load time of RECORDS sessions from the log alone, the time to snapshot them, and the load time from the snapshot. */
async function loadTimes(sealer: ValueSealer, label: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'postern-bench-load-'));
  try {
    await fill(dir, sealer);
    const logBytes = await directoryBytes(dir);
    const fromLog = await loadAndCompact(dir, sealer);
    const snapshotBytes = await directoryBytes(dir);
    const fromSnapshot = await timed(async () => {
      const reopened = await open(dir, 'never', sealer);
      await reopened.close();
    });
    const mb = (n: number): string => `${(n / 1e6).toFixed(0)} MB`;
    return [
      `${label}: load ${RECORDS} records from the log (${mb(logBytes)})       | ${fromLog.loadMs.toFixed(0).padStart(5)} ms`,
      `${label}: snapshot ${RECORDS} records (compact)             | ${fromLog.compactMs.toFixed(0).padStart(5)} ms`,
      `${label}: load ${RECORDS} records from a snapshot (${mb(snapshotBytes)}) | ${fromSnapshot.ms.toFixed(0).padStart(5)} ms`,
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const cases = (['always', 'batch', 'never'] as const).flatMap((fsync) => [1, 64].map((inFlight) => ({ fsync, inFlight, rates: [] as number[] })));
for (let round = 0; round < ROUNDS; round++) for (const c of cases) c.rates.push(await putsPerSecond(c.fsync, c.inFlight));
for (const { fsync, inFlight, rates } of cases) {
  rates.sort((a, b) => a - b);
  const median = rates[rates.length >> 1]!;
  const range = `${Math.round(rates[0]!).toLocaleString('en-US')}–${Math.round(rates[rates.length - 1]!).toLocaleString('en-US')}`;
  console.log(`put, fsync ${fsync.padEnd(6)}, ${String(inFlight).padStart(2)} in flight | ${Math.round(median).toLocaleString('en-US').padStart(7)} puts/s (range ${range})`);
}
for (const row of await loadTimes(recordSealer, 'RecordSealer')) console.log(row);
for (const row of await loadTimes(bufferSealer, 'Buffer AES-GCM')) console.log(row);

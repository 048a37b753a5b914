// Shared by the file backend's tests: the databroker's own sealer
// (AES-256-GCM with key ids), temp directories, a capturing logger, and
// helpers to open and reload stores.
import { createHash } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { StorageBackend, StoreSnapshot, ValueSealer } from '../../../src/databroker/backend.js';
import { openFileBackend, type FileBackendOptions } from '../../../src/databroker/file/index.js';
import { RecordSealer } from '../../../src/databroker/sealer.js';
import type { Logger } from '../../../src/telemetry/logger.js';

/** A 32-byte key derived from a label, so tests and child processes agree on keys by name. */
export function testKey(label: string): Buffer {
  return createHash('sha256').update(`postern test key ${label}`).digest();
}

/** Seals with the first key, opens with any of them. */
export function testSealer(keys: readonly Buffer[]): ValueSealer {
  return new RecordSealer(keys);
}

export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

export async function tempDir(label: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `postern-file-${label}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export async function copyDir(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true });
}

export type Options = Partial<Omit<FileBackendOptions, 'dir'>> & { keys?: readonly Buffer[] };

export const KEY_A = testKey('A');
export const KEY_B = testKey('B');

export async function openStore(dir: string, options: Options = {}): Promise<{ backend: StorageBackend; snapshot: StoreSnapshot; lines: Record<string, unknown>[] }> {
  const { logger, lines } = capturingLogger();
  const backend = await openFileBackend({
    dir,
    sealer: options.sealer ?? testSealer(options.keys ?? [KEY_A]),
    fsync: options.fsync ?? 'never',
    logger: options.logger ?? logger,
    ...(options.snapshotEvery !== undefined ? { snapshotEvery: options.snapshotEvery } : {}),
    ...(options.recoverValidPrefix !== undefined ? { recoverValidPrefix: options.recoverValidPrefix } : {}),
    ...(options.batchIntervalMs !== undefined ? { batchIntervalMs: options.batchIntervalMs } : {}),
  });
  const snapshot = await backend.load();
  return { backend, snapshot, lines };
}

/** Opens, loads and closes: the state a restart would see. */
export async function reload(dir: string, options: Options = {}): Promise<StoreSnapshot> {
  const { backend, snapshot } = await openStore(dir, options);
  await backend.close();
  return snapshot;
}

/** A store's content as `type/id → record fields`, for comparison with a model. */
export function contents(snapshot: StoreSnapshot): Map<string, { version: number; data: unknown; modifiedAt: number; expiresAt: number | null }> {
  const out = new Map<string, { version: number; data: unknown; modifiedAt: number; expiresAt: number | null }>();
  for (const r of snapshot.records) out.set(`${r.type}/${r.id}`, { version: r.version, data: r.data, modifiedAt: r.modifiedAt, expiresAt: r.expiresAt });
  return out;
}

export function put(type: string, id: string, data: unknown, modifiedAt = 1_000, expiresAt: number | null = null) {
  return { type, id, data, modifiedAt, expiresAt };
}

export function del(type: string, id: string, modifiedAt = 1_000) {
  return { type, id, data: null, modifiedAt, expiresAt: null };
}

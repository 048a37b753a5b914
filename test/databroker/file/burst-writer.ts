// Child process for kill.test.ts: opens a store with fsync `always` and
// writes a burst of records, many in flight at once, printing
// `<version> <id>` for each write as soon as it is acknowledged. The parent
// kills it with SIGKILL mid-burst and checks that every printed write is
// in the store. Usage: node burst-writer.js DIR PREFIX COUNT IN_FLIGHT
import { writeSync } from 'node:fs';
import { openFileBackend } from '../../../src/databroker/file/index.js';
import { capturingLogger, KEY_A, testSealer } from './helpers.js';

export function burstRecord(id: string): { id: string; email: string; padding: string } {
  return { id, email: `${id}@example.com`, padding: 'x'.repeat(200) };
}

async function main(): Promise<void> {
  const [dir, prefix, countText, inFlightText] = process.argv.slice(2);
  const count = Number(countText);
  const inFlight = Number(inFlightText);
  const backend = await openFileBackend({ dir: dir!, sealer: testSealer([KEY_A]), fsync: 'always', snapshotEvery: 400, logger: capturingLogger().logger });
  await backend.load();
  writeSync(1, 'ready\n');
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const id = `${prefix}-${next++}`;
      const change = await backend.write({ type: 'burst', id, data: burstRecord(id), modifiedAt: Date.now(), expiresAt: null });
      // Synchronous, so the parent sees each acknowledgement the moment it happens.
      writeSync(1, `${change.version} ${id}\n`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  await backend.close();
  writeSync(1, 'done\n');
}

// Only when run as a program: kill.test.ts imports burstRecord from here.
if (process.argv[1]?.endsWith('burst-writer.js')) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  });
}

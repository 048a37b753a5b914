// One node of bench/micro/peers.ts, in its own worker thread: a Replica
// over a peer backend over memory storage, with production tuning, which
// does what the coordinator asks and answers with its own measurements
// (see peer-protocol.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { MemoryBackend } from '../../src/databroker/memory-backend.js';
import { openPeerBackend } from '../../src/databroker/peers/index.js';
import { Replica } from '../../src/databroker/replica.js';
import { keep, measure, sinkBit } from './measure.js';
import { SESSIONS, SIGN_OUT_PREFIX, type Command, type PeerNodeSetup, type SignOutSeen } from './peer-protocol.js';

function sessionData(i: number): unknown {
  return {
    userId: `CiQ5OGQ4YjQ1Ny1lMGI2LTRhOGQtOTk0Yi1hYjJiNTc4NmU2NjYSBWxvY2Fs${i % 1_000}`,
    idpId: 'idp',
    issuedAt: Date.now(),
    expiresAt: Date.now() + 3_600_000,
    idToken: { raw: `eyJhbGciOiJSUzI1NiJ9.${'e30'.repeat(60)}.c2ln`, issuer: 'https://idp.example.com', subject: 'u', issuedAt: 0, expiresAt: 0 },
    oauth: { accessToken: `ya29.${'a'.repeat(180)}`, tokenType: 'Bearer', expiresAt: 0, refreshToken: `1//${'r'.repeat(100)}` },
    claims: { email: 'ada.lovelace@corp.example.com', name: 'Ada Lovelace', groups: ['engineering', 'platform', 'oncall', 'staff'] },
    refreshedAt: 0,
  };
}

const ids = Array.from({ length: SESSIONS }, (_, i) => `session-${i}`);
const data = ids.map((_, i) => sessionData(i));
const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function open(setup: PeerNodeSetup): Promise<Replica> {
  const logger = pino({ level: 'warn' });
  const backend = await openPeerBackend({ nodeId: setup.id, leaderId: setup.leaderId, nodes: setup.nodes, tls: setup.tls, local: new MemoryBackend(), logger });
  // No periodic sweep: its lease writes would land in the middle of the measurements.
  return Replica.open(backend, { logger, indexes: { session: ['userId'] }, sweepIntervalMs: 0 });
}

/**
 * `inFlight` loops calling `fn` with 0 … ops-1 between them. Each yields to
 * I/O after every call, as puts made by requests do: on memory storage the
 * leader's put never waits for I/O, and a loop of them would keep its
 * sockets unread.
 */
async function inFlightLoop(ops: number, inFlight: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < ops; i = next++) {
      keep(await fn(i));
      await yieldToIo();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

async function handle(replica: Replica, command: Command): Promise<unknown> {
  const expiresAt = (): number => Date.now() + 3_600_000;
  switch (command.cmd) {
    case 'state':
      return { kind: replica.kind, version: replica.version, healthy: replica.health().ok };
    case 'fill':
      await inFlightLoop(command.count, command.inFlight, (i) => replica.put('session', `${command.prefix}${i}`, data[i % SESSIONS], { expiresAt: expiresAt() }));
      return replica.version;
    case 'puts': {
      const start = process.hrtime.bigint();
      await inFlightLoop(command.ops, command.inFlight, (i) => {
        const n = (i * 7_919) % SESSIONS;
        return replica.put('session', ids[n]!, data[n], { expiresAt: expiresAt() });
      });
      return Number(process.hrtime.bigint() - start) / command.ops;
    }
    case 'gets':
      return [
        measure('get, hit', command.iterations, (i) => replica.get('session', ids[(i * 7_919) % SESSIONS]!)),
        measure('get, miss', command.iterations, (i) => replica.get('session', `${ids[(i * 7_919) % SESSIONS]!}x`)),
        sinkBit(),
      ];
    case 'delete': {
      const started = process.hrtime.bigint();
      const deleted = await replica.delete('session', command.id);
      return { started, acknowledged: process.hrtime.bigint(), deleted };
    }
    case 'close':
      await replica.close();
      return null;
  }
}

const port = parentPort!;
const replica = await open(workerData as PeerNodeSetup);
replica.onChange((change) => {
  if (change.record === null && change.id.startsWith(SIGN_OUT_PREFIX)) {
    const seen: SignOutSeen = { event: 'deleted', id: change.id, at: process.hrtime.bigint() };
    port.postMessage(seen);
  }
});
port.on('message', (message: { readonly seq: number; readonly command: Command }) => {
  handle(replica, message.command).then(
    (value) => port.postMessage({ seq: message.seq, value }),
    (err: unknown) => port.postMessage({ seq: message.seq, error: (err as Error).stack ?? String(err) }),
  );
});
port.postMessage({ event: 'open' });

// The databroker's peer group: three nodes in this process, each the
// Replica Postern reads, over a peer backend, over memory storage, talking
// mutual TLS on loopback with production tuning; `a` leads, `b` and `c`
// follow. Each node runs in its own worker thread (bench/micro/peer-node.ts):
// its own event loop, as separate processes would have, so that a node
// busy writing does not leave the others' sockets unread. This thread only
// gives orders and reads the nodes' clocks.
// Measures puts/s on the leader and through a follower (forwarded to the
// leader; acknowledged once the follower's own replica has the change),
// gets/s on a follower's replica, and how long a sign-out (a session
// deleted through follower b) takes to be visible on follower c's replica.
// Run by hand after a build (certificates come from the openssl CLI, as in
// the tests):
//   node dist/bench/micro/peers.js [--samples=1000]
// Puts replace ~1 KB sessions in a store of 10 000. Each put case runs a
// warm-up round and ROUNDS timed rounds, with the given number of puts in
// flight all the time, and waits between rounds until every replica has
// every change; the table shows the median and best round. The three
// nodes share this machine's cores: on a 2-core box a follower applying
// changes takes CPU from the leader writing them.
import { Worker } from 'node:worker_threads';
import { createCertificateAuthority, createPeerCertificate, freePort } from '../../test/databroker/peers/fixtures.js';
import { ROUNDS, type Result } from './measure.js';
import { SESSIONS, SIGN_OUT_PREFIX, type Command, type PeerNodeSetup, type SignOutSeen } from './peer-protocol.js';

function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const n = arg === undefined ? fallback : Number(arg.slice(name.length + 3));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number`);
  return n;
}

const SAMPLES = option('samples', 1_000);
const IDS = ['a', 'b', 'c'] as const;
const LEADER = 'a';
/** Kept under a second or so per case: the synchronous loop holds up that node's heartbeats meanwhile. */
const GET_ITERATIONS = 200_000;
const nodeMain = new URL('./peer-node.js', import.meta.url);

interface NodeState {
  readonly kind: string;
  readonly version: number;
  readonly healthy: boolean;
}

/** A node in its worker thread: commands in, answers and sign-outs seen out. */
class PeerNodeThread {
  readonly id: string;
  readonly opened: Promise<void>;
  readonly #worker: Worker;
  readonly #calls = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  #seq = 0;
  onSignOutSeen: (seen: SignOutSeen) => void = () => undefined;

  constructor(setup: PeerNodeSetup) {
    this.id = setup.id;
    this.#worker = new Worker(nodeMain, { workerData: setup });
    let opened: () => void = () => undefined;
    this.opened = new Promise((resolve) => (opened = resolve));
    this.#worker.on('message', (message: { event?: string; seq?: number; value?: unknown; error?: string }) => {
      if (message.event === 'open') opened();
      else if (message.event === 'deleted') this.onSignOutSeen(message as unknown as SignOutSeen);
      else {
        const call = this.#calls.get(message.seq!);
        this.#calls.delete(message.seq!);
        if (message.error !== undefined) call?.reject(new Error(`node ${this.id}: ${message.error}`));
        else call?.resolve(message.value);
      }
    });
    this.#worker.on('error', (err) => {
      for (const call of this.#calls.values()) call.reject(err);
      this.#calls.clear();
    });
  }

  call<T>(command: Command): Promise<T> {
    const seq = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      this.#calls.set(seq, { resolve: resolve as (value: unknown) => void, reject });
      this.#worker.postMessage({ seq, command });
    });
  }

  state(): Promise<NodeState> {
    return this.call<NodeState>({ cmd: 'state' });
  }

  async close(): Promise<void> {
    await this.call({ cmd: 'close' }).catch(() => undefined);
    await this.#worker.terminate();
  }
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Resolves once every node is connected and has every change of the group. */
async function settled(nodes: readonly PeerNodeThread[]): Promise<void> {
  await until(async () => {
    const states = await Promise.all(nodes.map((n) => n.state()));
    return states.every((s) => s.healthy && s.version === states[0]!.version);
  }, 'every replica to have every change');
}

async function measurePuts(nodes: readonly PeerNodeThread[], writer: PeerNodeThread, name: string, ops: number, inFlight: number): Promise<Result> {
  const rounds: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const nsPerPut = await writer.call<number>({ cmd: 'puts', ops, inFlight });
    await settled(nodes);
    if (r > 0) rounds.push(nsPerPut);
  }
  rounds.sort((x, y) => x - y);
  return { name, median: rounds[ROUNDS >> 1]!, best: rounds[0]! };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function latencyLine(name: string, values: number[]): string {
  values.sort((x, y) => x - y);
  const ms = (v: number): string => `${v.toFixed(3)} ms`;
  return `${name.padEnd(56)} p50 ${ms(percentile(values, 50))}  p99 ${ms(percentile(values, 99))}  max ${ms(values[values.length - 1]!)}`;
}

/**
 * Sign-outs through `from`, one at a time, each session already on every
 * node: per sample, ms from `from`'s delete() call to its resolving, and to
 * `to`'s replica having applied it.
 */
async function signOutLatencies(nodes: readonly PeerNodeThread[], from: PeerNodeThread, to: PeerNodeThread): Promise<{ acknowledged: number[]; visible: number[] }> {
  await from.call({ cmd: 'fill', count: SAMPLES, inFlight: 64, prefix: SIGN_OUT_PREFIX });
  await settled(nodes);
  const seenAt = new Map<string, bigint>();
  let waiting: { id: string; resolve: () => void } | null = null;
  to.onSignOutSeen = (seen) => {
    seenAt.set(seen.id, seen.at);
    if (waiting?.id === seen.id) waiting.resolve();
  };
  const acknowledged: number[] = [];
  const visible: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const id = `${SIGN_OUT_PREFIX}${i}`;
    const arrived = new Promise<void>((resolve) => (waiting = { id, resolve }));
    const answer = await from.call<{ started: bigint; acknowledged: bigint; deleted: boolean }>({ cmd: 'delete', id });
    if (!answer.deleted) throw new Error(`${id} was not live on node ${from.id}`);
    if (!seenAt.has(id)) await arrived;
    acknowledged.push(Number(answer.acknowledged - answer.started) / 1e6);
    visible.push(Number(seenAt.get(id)! - answer.started) / 1e6);
  }
  return { acknowledged, visible };
}

async function main(): Promise<void> {
  const ca = createCertificateAuthority('Peers bench CA');
  const ports = new Map<string, number>();
  for (const id of IDS) ports.set(id, await freePort());
  const nodes: PeerNodeThread[] = [];
  try {
    for (const id of IDS) {
      const certificate = createPeerCertificate(ca, { commonName: id, dnsNames: [id] });
      nodes.push(
        new PeerNodeThread({
          id,
          leaderId: LEADER,
          nodes: IDS.map((n) => ({ id: n, address: `127.0.0.1:${ports.get(n)!}` })),
          tls: { certPem: certificate.certPem, keyPem: certificate.keyPem, caPem: ca.certPem },
        }),
      );
    }
    await Promise.all(nodes.map((n) => n.opened));
    await settled(nodes);
    const [a, b, c] = nodes as [PeerNodeThread, PeerNodeThread, PeerNodeThread];
    const kinds = await Promise.all(nodes.map(async (n) => `${n.id} ${(await n.state()).kind}`));
    if (kinds.join(', ') !== 'a peer-leader, b peer-follower, c peer-follower') throw new Error(`unexpected roles: ${kinds.join(', ')}`);

    // The store at its measured size before anything is timed.
    await a.call({ cmd: 'fill', count: SESSIONS, inFlight: 64, prefix: 'session-' });
    await settled(nodes);

    const puts: Result[] = [
      await measurePuts(nodes, a, 'put on the leader, 1 in flight', 5_000, 1),
      await measurePuts(nodes, a, 'put on the leader, 64 in flight', 20_000, 64),
      await measurePuts(nodes, b, 'put through a follower (forwarded), 1 in flight', 2_000, 1),
      await measurePuts(nodes, b, 'put through a follower (forwarded), 64 in flight', 20_000, 64),
    ];
    const [hit, miss] = await c.call<[Result, Result, number]>({ cmd: 'gets', iterations: GET_ITERATIONS });
    const gets: Result[] = [
      { ...hit, name: 'get on a follower replica, hit' },
      { ...miss, name: 'get on a follower replica, miss' },
    ];
    await settled(nodes);

    const width = Math.max(...[...puts, ...gets].map((r) => r.name.length));
    console.log(`peer group of 3 (one worker thread each), loopback mutual TLS, memory storage, node ${process.version}; ${ROUNDS} timed rounds per case`);
    console.log(`${'case'.padEnd(width)}  ${'median ns/op'.padStart(12)}  ${'best ns/op'.padStart(10)}  ${'ops/s (median)'.padStart(14)}`);
    for (const r of [...puts, ...gets]) {
      console.log(`${r.name.padEnd(width)}  ${r.median.toFixed(1).padStart(12)}  ${r.best.toFixed(1).padStart(10)}  ${Math.round(1e9 / r.median).toLocaleString('en').padStart(14)}`);
    }

    const signOut = await signOutLatencies(nodes, b, c);
    console.log('');
    console.log(latencyLine(`sign-out through b: b's delete() resolved (${SAMPLES} samples)`, signOut.acknowledged));
    console.log(latencyLine(`sign-out through b: visible on c's replica (${SAMPLES} samples)`, signOut.visible));
    await settled(nodes);
    console.log(`(all three replicas at version ${(await a.state()).version})`);
  } finally {
    for (const node of nodes.reverse()) await node.close();
    ca.remove();
  }
}

await main();

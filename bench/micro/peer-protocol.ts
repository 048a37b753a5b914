// What bench/micro/peers.ts and its nodes (peer-node.ts, one worker thread
// each) say to each other. Times are process.hrtime.bigint() values: the
// monotonic clock every thread of the process shares.
import type { PeerNode, PeerTls } from '../../src/databroker/peers/index.js';

export interface PeerNodeSetup {
  readonly id: string;
  readonly leaderId: string;
  readonly nodes: readonly PeerNode[];
  readonly tls: PeerTls;
}

export type Command =
  | { readonly cmd: 'state' }
  /** Puts the first `count` sessions, `inFlight` at a time. */
  | { readonly cmd: 'fill'; readonly count: number; readonly inFlight: number; readonly prefix: string }
  /** `ops` puts replacing sessions of the store, `inFlight` outstanding all the time; answers ns per put. */
  | { readonly cmd: 'puts'; readonly ops: number; readonly inFlight: number }
  | { readonly cmd: 'gets'; readonly iterations: number }
  /** Deletes one session; answers when the call started and when it resolved. */
  | { readonly cmd: 'delete'; readonly id: string }
  | { readonly cmd: 'close' };

/** Sent unasked whenever a session named with SIGN_OUT_PREFIX is deleted on this node's replica. */
export interface SignOutSeen {
  readonly event: 'deleted';
  readonly id: string;
  readonly at: bigint;
}

export const SIGN_OUT_PREFIX = 'signout-';
/** The store the puts replace sessions in. */
export const SESSIONS = 10_000;

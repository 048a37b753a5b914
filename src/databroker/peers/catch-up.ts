// How the leader brings a (re)connecting follower up to date: with the
// changes after the follower's version when the follower's replica is a
// prefix of the leader's history and those changes are still retained, and
// with a full snapshot otherwise. Sending changes onto a replica that is not
// a prefix would silently mix two histories, so every doubt means snapshot.

/** Where a follower's replica stands, as its hello says. */
export interface ReplicaPosition {
  /** '' for a replica that has never synchronised. */
  readonly serverVersion: string;
  readonly version: number;
}

/**
 * A history that continues another one: a promoted follower starts a new
 * server_version at the version it had replicated, so the replicas that
 * followed the old leader up to that version are prefixes of the new history.
 */
export interface HistoryFork {
  readonly serverVersion: string;
  readonly version: number;
}

/** What the leader's feed can offer. */
export interface FeedPosition {
  readonly serverVersion: string;
  readonly version: number;
  /** The oldest change still retained; version + 1 when none is. */
  readonly earliest: number;
  readonly fork: HistoryFork | null;
}

export type CatchUp = 'changes' | 'snapshot';

export function planCatchUp(replica: ReplicaPosition, feed: FeedPosition): CatchUp {
  if (replica.serverVersion === '') return 'snapshot';
  const onThisHistory = replica.serverVersion === feed.serverVersion && replica.version <= feed.version;
  const onTheForkedOne = feed.fork !== null && replica.serverVersion === feed.fork.serverVersion && replica.version <= feed.fork.version;
  if (!onThisHistory && !onTheForkedOne) return 'snapshot';
  return replica.version >= feed.earliest - 1 ? 'changes' : 'snapshot';
}

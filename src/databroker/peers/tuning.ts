// Every bound of the peer protocol in one place. The defaults suit a
// production cluster; the tests shorten the timings so that losing and
// finding a leader takes milliseconds instead of seconds.

export interface PeerTuning {
  /** Largest frame sent or accepted; a peer announcing a larger one is disconnected. */
  readonly maxFrameBytes: number;
  /** Largest record value (as JSON) a write may carry, so that every change fits in a frame. */
  readonly maxRecordBytes: number;
  /** Changes kept for catching followers up; one further behind gets a snapshot instead. */
  readonly retainedChanges: number;
  /** Target size of one frame of snapshot records. */
  readonly snapshotChunkBytes: number;
  /**
   * The leader stops feeding a follower while this much is queued on its
   * socket, and resumes on drain. Keep it above the socket's own 16 KiB:
   * below, no drain event comes and the feed waits for the next change (a
   * test uses 0 to hold a follower's feed back while acknowledgements pass).
   */
  readonly sendHighWaterBytes: number;
  /** Writes waiting for the leader, per follower, on either side; beyond it writes are refused at once. */
  readonly maxPendingWrites: number;
  /** Connections the leader accepts at once, handshakes included. */
  readonly maxConnections: number;
  /** Both sides send a ping this often and drop a connection silent for three intervals. */
  readonly heartbeatMs: number;
  /** A follower gives up a connection attempt after this long. */
  readonly connectTimeoutMs: number;
  /** The leader drops a peer that has not finished the TLS handshake and its hello within this. */
  readonly handshakeTimeoutMs: number;
  /** A forwarded write not acknowledged within this fails as unconfirmed. */
  readonly writeTimeoutMs: number;
  /** A starting follower waits this long for its first snapshot before it starts empty and read-only. */
  readonly initialSyncTimeoutMs: number;
  /** Reconnect backoff: from minMs, doubling, capped at maxMs. */
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
}

export const DEFAULT_PEER_TUNING: PeerTuning = Object.freeze({
  maxFrameBytes: 16 * 1024 * 1024,
  maxRecordBytes: 1024 * 1024,
  retainedChanges: 100_000,
  snapshotChunkBytes: 256 * 1024,
  sendHighWaterBytes: 1024 * 1024,
  maxPendingWrites: 1024,
  maxConnections: 64,
  heartbeatMs: 2_000,
  connectTimeoutMs: 5_000,
  handshakeTimeoutMs: 5_000,
  writeTimeoutMs: 5_000,
  initialSyncTimeoutMs: 10_000,
  reconnectMinMs: 100,
  reconnectMaxMs: 5_000,
});

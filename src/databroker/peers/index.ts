// Replicated databroker peers: one leader streams its change feed to the
// followers over mutual TLS; followers keep a full replica and forward writes.
export { openPeerBackend } from './peer-backend.js';
export type { PeerBackend, PeerBackendOptions, PeerNode, PeerRole, PeerStatus } from './peer-backend.js';
export { parseNodeAddress, type NodeAddress } from './address.js';
export { DEFAULT_PEER_TUNING, type PeerTuning } from './tuning.js';
export type { PeerTls } from './tls.js';

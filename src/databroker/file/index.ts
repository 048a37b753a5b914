// The `file` storage backend (`databroker_storage_type: file`): an encrypted
// append-only log with periodic encrypted snapshots in one directory.
export { openFileBackend, DEFAULT_BATCH_INTERVAL_MS, DEFAULT_SNAPSHOT_EVERY, type FileBackendOptions, type FsyncPolicy } from './backend.js';
export { DatabrokerCorruptError } from './corrupt.js';

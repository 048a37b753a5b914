// The in-memory databroker: a replica over the memory backend, ready as soon
// as it is constructed (the memory backend has nothing to load). What
// `databroker_storage_type: memory` runs, and what tests and tools use when
// they need a store and no configuration.
import { MemoryBackend } from './memory-backend.js';
import { Replica, type ReplicaOptions } from './replica.js';

export type MemoryDatabrokerOptions = ReplicaOptions;

export class MemoryDatabroker extends Replica {
  constructor(options: MemoryDatabrokerOptions) {
    const backend = new MemoryBackend();
    super(backend, backend.initial(), options);
  }
}

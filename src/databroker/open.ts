// Opens the databroker a configuration asks for: the storage backend
// (`databroker_storage_type`; a peer group around it when
// `databroker_cluster_nodes` is set) and the in-process replica in front of
// it, which is what the rest of Postern reads and writes.
import type { Config } from '../config/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { StorageBackend, ValueSealer } from './backend.js';
import { openFileBackend } from './file/index.js';
import { MemoryBackend } from './memory-backend.js';
import { openPeerBackend } from './peers/index.js';
import { openPostgresBackend } from './postgres/index.js';
import { Replica } from './replica.js';
import { recordSealer } from './sealer.js';
import type { IndexedFields } from './types.js';

/** What query() can search by default: a user's sessions (sign out everywhere, admin views). */
export const DEFAULT_INDEXES: IndexedFields = { session: ['userId'] };

export interface OpenDatabrokerOptions {
  /**
   * File storage only: when the log is damaged, keep what precedes the
   * damage (setting the rest aside) instead of refusing to start. An
   * operator's decision for one start, so it is not a configuration key.
   */
  readonly recoverValidPrefix?: boolean;
  readonly indexes?: IndexedFields;
}

/**
 * The replica over the configured storage, loaded and following it. Fails
 * (with the backend's error) when the storage cannot be opened: a store that
 * is corrupt, locked by another process, or unreachable on first contact.
 */
export async function openDatabroker(config: Config, logger: Logger, options: OpenDatabrokerOptions = {}): Promise<Replica> {
  const sealer = recordSealer(config.databroker.encryptionKeys, config.sharedSecret);
  const local = await openStorage(config, logger, sealer, options);
  const { cluster } = config.databroker;
  let backend: StorageBackend = local;
  if (cluster !== null) {
    try {
      backend = await openPeerBackend({
        nodeId: cluster.nodeId,
        leaderId: cluster.leaderId,
        nodes: cluster.nodes,
        tls: { certPem: cluster.certificate.certPem, keyPem: cluster.certificate.keyPem, caPem: cluster.caPem },
        local,
        logger,
      });
    } catch (err) {
      await local.close();
      throw err;
    }
  }
  try {
    const replica = await Replica.open(backend, { logger, indexes: options.indexes ?? DEFAULT_INDEXES });
    logger.info({ storage: replica.kind, serverVersion: replica.serverVersion, version: replica.version }, 'databroker ready');
    return replica;
  } catch (err) {
    await backend.close();
    throw err;
  }
}

/** This instance's own storage: the store itself, or what a peer keeps its history in. */
function openStorage(config: Config, logger: Logger, sealer: ValueSealer, options: OpenDatabrokerOptions): Promise<StorageBackend> {
  const { storage } = config.databroker;
  switch (storage.type) {
    case 'memory':
      return Promise.resolve(new MemoryBackend());
    case 'file':
      return openFileBackend({
        dir: storage.directory,
        sealer,
        fsync: storage.fsync,
        logger,
        ...(options.recoverValidPrefix === undefined ? {} : { recoverValidPrefix: options.recoverValidPrefix }),
      });
    case 'postgres':
      return openPostgresBackend({ dsn: storage.connectionString, sealer, logger });
  }
}

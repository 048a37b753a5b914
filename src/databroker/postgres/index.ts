// `databroker_storage_type: postgres`: opens the backend on a DSN. The DSN is
// handed to pg as it is (so `sslmode`, `sslrootcert`, `sslcert`, `sslkey`,
// `application_name`, … mean what pg says; target.ts lists the TLS modes) and
// is never logged: logs and health name the server by user, host, port,
// database and TLS mode only.
import pg from 'pg';
import type { Logger } from '../../telemetry/logger.js';
import type { ValueSealer } from '../backend.js';
import { DEFAULT_RETENTION, PostgresBackend, STATEMENT_TIMEOUT_MS, type RetentionOptions } from './backend.js';
import { schemaNames } from './schema.js';
import { statements } from './statements.js';
import { describeTarget } from './target.js';

export type { RetentionOptions } from './backend.js';
export { PostgresBackend } from './backend.js';

export const DEFAULT_SCHEMA = 'postern';

export interface PostgresBackendOptions {
  /** `postgres://user:password@host:port/database?sslmode=verify-full&sslrootcert=/path/ca.pem`. */
  readonly dsn: string;
  readonly sealer: ValueSealer;
  readonly logger: Logger;
  /** Where the tables live; created when missing. Default `postern`. */
  readonly schema?: string;
  /** How long the change feed is kept for subscribers catching up. */
  readonly retention?: Partial<RetentionOptions>;
}

const CONNECT_TIMEOUT_MS = 5_000;
/** A transaction left open by a vanished client would hold the writers' lock; the server ends it after this. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;

/**
 * Connects (the first attempt must succeed), creates or migrates the schema
 * and returns the backend; it reconnects by itself from then on.
 */
export async function openPostgresBackend(options: PostgresBackendOptions): Promise<PostgresBackend> {
  const names = schemaNames(options.schema ?? DEFAULT_SCHEMA);
  const config: pg.ClientConfig = {
    connectionString: options.dsn,
    application_name: 'postern',
    keepAlive: true,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
  };
  let target: string;
  try {
    // Parses the DSN (and reads sslrootcert and friends) once, here, where a mistake can still stop the start.
    target = describeTarget(new pg.Client(config));
  } catch (err) {
    // pg's parser keeps the DSN out of its messages; ours must too.
    throw new Error(`the Postgres connection string cannot be used: ${err instanceof Error ? err.message : String(err)}`);
  }
  const backend = new PostgresBackend({
    config,
    target,
    names,
    sql: statements(names),
    sealer: options.sealer,
    logger: options.logger,
    retention: { ...DEFAULT_RETENTION, ...options.retention },
  });
  try {
    await backend.ready();
  } catch (err) {
    await backend.close();
    throw err;
  }
  return backend;
}

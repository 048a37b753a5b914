// Every statement the Postgres backend runs, built once per schema.
//
// Writes go in batches: the writes queued while the previous batch was on
// its way are sent as ONE statement, hence one transaction, one round trip
// and one WAL flush for all of them (group commit). It bumps the version in
// meta by the batch's size (taking the row lock that orders all writers),
// gives each write the next version in the order it was issued, sets or
// deletes each record as its last write in the batch says, appends one
// change per write and notifies listeners, who are woken at COMMIT. Each
// write is atomic and durable when its promise resolves, like a transaction
// of its own; a batch of one is the common case on a quiet instance.
//
// Parameters carry explicit casts: pg sends untyped text (arrays as array
// literals, bytea as hex).
import type { SchemaNames } from './schema.js';

export interface Statements {
  /**
   * $1 types[], $2 ids[], $3 sealed values[] (NULL deletes), $4 modified_at[],
   * $5 expires_at[], $6 origins[], $7 batch size, $8 channel → base (the
   * write at index i got version base + i + 1).
   */
  readonly write: string;
  /** → server_version, version. */
  readonly head: string;
  /** $1 after, $2 up to, $3 limit → changes in version order. */
  readonly changesBetween: string;
  /** $1 now (ms), $2 after type, $3 after id, $4 limit → live records in key order (run in a REPEATABLE READ transaction). */
  readonly recordsPage: string;
  /** $1 changes to keep at least, $2 milliseconds to keep at least → pruned count. */
  readonly pruneChanges: string;
}

export function statements(n: SchemaNames): Statements {
  return {
    write: `WITH input AS (
        SELECT x.n, x.type, x.id, x.value, x.modified_at, x.expires_at, x.origin
        FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bigint[], $5::bigint[], $6::text[])
          WITH ORDINALITY AS x(type, id, value, modified_at, expires_at, origin, n)
      ), v AS (
        UPDATE ${n.meta} SET version = version + $7::bigint RETURNING version - $7::bigint AS base
      ), numbered AS (
        SELECT v.base + input.n AS version, input.* FROM input, v
      ), latest AS (
        -- A record written twice in one batch ends as its last write says.
        SELECT DISTINCT ON (type, id) * FROM numbered ORDER BY type, id, version DESC
      ), put AS (
        INSERT INTO ${n.records} (type, id, version, value, modified_at, expires_at)
        SELECT type, id, version, value, modified_at, expires_at FROM latest WHERE value IS NOT NULL
        ON CONFLICT (type, id) DO UPDATE SET version = EXCLUDED.version, value = EXCLUDED.value,
          modified_at = EXCLUDED.modified_at, expires_at = EXCLUDED.expires_at
      ), gone AS (
        DELETE FROM ${n.records} r USING latest l WHERE l.value IS NULL AND r.type = l.type AND r.id = l.id
      ), ch AS (
        INSERT INTO ${n.changes} (version, type, id, op, value, modified_at, expires_at, origin)
        SELECT version, type, id, CASE WHEN value IS NULL THEN 'delete' ELSE 'put' END, value, modified_at, expires_at, origin
        FROM numbered
      )
      SELECT v.base, pg_notify($8::text, (v.base + $7::bigint)::text) FROM v`,
    head: `SELECT server_version, version FROM ${n.meta}`,
    changesBetween: `SELECT version, type, id, value, modified_at, expires_at, origin FROM ${n.changes}
      WHERE version > $1::bigint AND version <= $2::bigint ORDER BY version LIMIT $3::integer`,
    recordsPage: `SELECT type, id, version, value, modified_at, expires_at FROM ${n.records}
      WHERE (expires_at IS NULL OR expires_at > $1::bigint) AND (type, id) > ($2::text, $3::text)
      ORDER BY type, id LIMIT $4::integer`,
    pruneChanges: `DELETE FROM ${n.changes}
      WHERE version <= (SELECT version FROM ${n.meta}) - $1::bigint
        AND changed_at < now() - make_interval(secs => $2::double precision / 1000)`,
  };
}

// The databroker's tables in Postgres, created and migrated when a backend
// connects. Migrations run in one transaction under an advisory lock keyed
// by the schema name, so several instances starting together apply each
// step exactly once and none of them sees a half-migrated schema (DDL is
// transactional in Postgres). A schema migrated by a newer Postern is
// refused rather than written to with assumptions that no longer hold.
//
// Tables (in the configured schema):
//   meta        one row: server_version (random id of this history) and
//               version (the last change's), the store's global bigint
//               counter. Every write transaction raises it by its number of
//               writes, so the row lock orders all writers: versions are
//               gap-free and committed in version order, which a Postgres
//               SEQUENCE would not give (nextval is not rolled back, and a
//               later nextval can commit first, so a reader could step past
//               a change that commits after it looked).
//   records     the live records: type and id in clear, value sealed.
//   changes     the feed: one row per change with the sealed value it set,
//               so a reader replays any range exactly; pruned by age and
//               count (a reader that needs a pruned change resynchronises).
//   migrations  the steps applied.
import { PosternError, Errors } from '../../errors.js';

/** Schema names Postern accepts: a plain lower-case identifier, short enough to name the notification channel too. */
export function schemaNameProblem(name: string): string | null {
  if (name.length === 0 || name.length > 48) return 'a schema name has 1 to 48 characters';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const lower = c >= 0x61 && c <= 0x7a;
    const digit = c >= 0x30 && c <= 0x39;
    if (!(lower || c === 0x5f || (digit && i > 0))) {
      return 'a schema name is lower-case letters, digits and underscores, not starting with a digit';
    }
  }
  if (name.startsWith('pg_')) return 'schema names starting with pg_ are reserved by Postgres';
  return null;
}

/** Every table name and the notification channel of one schema, quoted once. */
export interface SchemaNames {
  /** The name as configured, for logs. */
  readonly name: string;
  /** The name quoted for SQL. */
  readonly schema: string;
  readonly meta: string;
  readonly records: string;
  readonly changes: string;
  readonly migrations: string;
  /** NOTIFY channel; channels are per database, so each schema has its own. */
  readonly channel: string;
}

export function schemaNames(schema: string): SchemaNames {
  const problem = schemaNameProblem(schema);
  if (problem !== null) throw new RangeError(`databroker schema ${JSON.stringify(schema)}: ${problem}`);
  // The name was checked to be a plain identifier, so quoting is enough.
  const q = `"${schema}"`;
  return {
    name: schema,
    schema: q,
    meta: `${q}.meta`,
    records: `${q}.records`,
    changes: `${q}.changes`,
    migrations: `${q}.migrations`,
    channel: `${schema}_changes`,
  };
}

interface Migration {
  readonly version: number;
  readonly description: string;
  readonly statements: (n: SchemaNames) => readonly string[];
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'meta, records and the change feed',
    statements: (n) => [
      `CREATE TABLE ${n.meta} (
         singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
         server_version text NOT NULL,
         version bigint NOT NULL
       )`,
      // gen_random_uuid is built in from PostgreSQL 13 on.
      `INSERT INTO ${n.meta} (server_version, version) VALUES (gen_random_uuid()::text, 0)`,
      `CREATE TABLE ${n.records} (
         type text NOT NULL,
         id text NOT NULL,
         version bigint NOT NULL,
         value bytea NOT NULL,
         modified_at bigint NOT NULL,
         expires_at bigint,
         PRIMARY KEY (type, id)
       )`,
      `CREATE INDEX records_expiry ON ${n.records} (expires_at) WHERE expires_at IS NOT NULL`,
      `CREATE TABLE ${n.changes} (
         version bigint PRIMARY KEY,
         type text NOT NULL,
         id text NOT NULL,
         op text NOT NULL CHECK (op IN ('put', 'delete')),
         value bytea,
         modified_at bigint NOT NULL,
         expires_at bigint,
         origin text NOT NULL,
         changed_at timestamptz NOT NULL DEFAULT now(),
         CHECK ((op = 'put') = (value IS NOT NULL))
       )`,
    ],
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

// pg_advisory_xact_lock(int4, int4): the first key is 'post' in ASCII, the
// second the schema name's hash, so different schemas migrate independently.
const LOCK_CLASS = 0x706f7374;

/** What a client must offer to run the migrations: one query at a time. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * Creates or upgrades the schema; returns the versions applied (empty when
 * it was current). Idempotent and safe to run from several instances at once.
 */
export async function migrate(client: Queryable, names: SchemaNames): Promise<number[]> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, names.name]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${names.schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${names.migrations} (
         version integer PRIMARY KEY,
         description text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query(`SELECT coalesce(max(version), 0) AS version FROM ${names.migrations}`);
    const current = Number(rows[0]!['version']);
    if (current > SCHEMA_VERSION) {
      throw new PosternError(Errors.DATABROKER_SCHEMA_TOO_NEW, `schema ${names.name} is at version ${current}; this Postern knows up to ${SCHEMA_VERSION}`);
    }
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      for (const statement of m.statements(names)) await client.query(statement);
      await client.query(`INSERT INTO ${names.migrations} (version, description) VALUES ($1, $2)`, [m.version, m.description]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    // A lost connection rolls back on its own; the ROLLBACK would only fail again.
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

// The databroker options: where records are stored (`databroker_storage_*`,
// pom:config/options_databroker.go), the keys that encrypt them
// (`databroker_encryption_key`, Postern's own: Pomerium stores values in
// clear), and the replicated peer group (`databroker_cluster_*`). Everything
// is checked here, so the backends only ever see values that can work.
import { fileURLToPath } from 'node:url';
import { parseNodeAddress } from '../databroker/peers/address.js';
import { decodeCaBundleFile, decodeCertificateFiles } from './certificates.js';
import { Options, readList, readString, readStringList } from './fields.js';
import type { Findings, Located } from './findings.js';
import { decodeBase64Std, valueOrFile } from './secrets.js';
import { fromPlain } from './source.js';
import type { DatabrokerCluster, DatabrokerClusterNode, DatabrokerOptions, DatabrokerStorage } from './types.js';

const KEY_BYTES = 32;
const FSYNC_POLICIES = ['always', 'batch', 'never'] as const;
type FsyncPolicy = (typeof FSYNC_POLICIES)[number];

export function decodeDatabroker(f: Findings, options: Options, dir: string): DatabrokerOptions {
  const storage = decodeStorage(f, options, dir);
  return {
    storage,
    encryptionKeys: decodeEncryptionKeys(f, options, dir),
    cluster: decodeCluster(f, options, dir, storage),
  };
}

function decodeStorage(f: Findings, options: Options, dir: string): DatabrokerStorage {
  const typeLoc = options.get('databroker_storage_type');
  const type = typeLoc === undefined ? '' : (readString(f, typeLoc) ?? 'memory');
  const value = valueOrFile(f, options, 'databroker_storage_connection_string', dir);
  // As in Pomerium, the file's content is trimmed (a trailing newline is not part of a DSN).
  const connection = value === undefined || value === null ? null : { loc: value.loc, text: value.fromFile ? value.text.trim() : value.text };
  const memory: DatabrokerStorage = { type: 'memory' };
  if (type === '' || type === 'memory') {
    if (connection !== null && connection.text !== '') f.warn(connection.loc, 'ignored: databroker_storage_type is memory');
    return memory;
  }
  if (type !== 'file' && type !== 'postgres') {
    const hint = type === 'redis' ? ': redis storage was removed from Pomerium in v0.24; use postgres' : ' (memory, file or postgres)';
    f.error(typeLoc!, `unknown databroker storage type ${JSON.stringify(type)}${hint}`);
    return memory;
  }
  // null: the value or its file had a problem, already reported.
  if (value === null) return memory;
  if (connection === null || connection.text === '') {
    const expected = type === 'file' ? 'a file:///directory URL' : 'a PostgreSQL connection string';
    f.error(connection?.loc ?? typeLoc!, `databroker_storage_type ${type} needs databroker_storage_connection_string: ${expected}`);
    return memory;
  }
  if (type === 'file') return decodeFileStorage(f, connection.loc, connection.text) ?? memory;
  if (!isPostgresDsn(connection.text)) {
    // Never quote it: a DSN may carry a password.
    f.error(connection.loc, 'must be a PostgreSQL connection string: postgres://user:password@host:5432/database?sslmode=verify-full, or key=value pairs');
    return memory;
  }
  return { type: 'postgres', connectionString: connection.text };
}

/** `file:///absolute/directory`, optionally `?fsync=always|batch|never`. */
function decodeFileStorage(f: Findings, loc: Located, text: string): DatabrokerStorage | undefined {
  let url: URL | null = null;
  let directory = '';
  try {
    url = new URL(text);
    // Refuses a host other than localhost: `file://var/lib/x` names host "var".
    if (url.protocol === 'file:') directory = fileURLToPath(url);
  } catch {
    url = null;
  }
  if (url === null || directory === '') {
    f.error(loc, `must be a file:///directory URL (an absolute path after file://), not ${JSON.stringify(text)}`);
    return undefined;
  }
  // Every acknowledged write is on disk; writes arriving during an fsync share the next one.
  let fsync: FsyncPolicy = 'always';
  for (const [name, setting] of url.searchParams) {
    if (name === 'fsync' && (FSYNC_POLICIES as readonly string[]).includes(setting)) fsync = setting as FsyncPolicy;
    else if (name === 'fsync') f.error(loc, `fsync must be always, batch or never, not ${JSON.stringify(setting)}`);
    else f.error(loc, `unknown setting ${JSON.stringify(name)} in the file URL (only fsync=always|batch|never)`);
  }
  if (directory === '/') {
    f.error(loc, 'must name the directory of the store, not the root directory');
    return undefined;
  }
  return { type: 'file', directory: directory.endsWith('/') ? directory.slice(0, -1) : directory, fsync };
}

/** A URL with the postgres scheme, or libpq's key=value form. The backend parses it for real. */
function isPostgresDsn(text: string): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme !== null) return scheme[1]!.toLowerCase() === 'postgres' || scheme[1]!.toLowerCase() === 'postgresql';
  return /^\s*[a-z_]+\s*=/i.test(text);
}

/**
 * `databroker_encryption_key`: base64 of 32 bytes, or several (a YAML list,
 * or separated by commas) to rotate: the first seals, all open.
 * `databroker_encryption_key_file`: the same, one key per line.
 */
function decodeEncryptionKeys(f: Findings, options: Options, dir: string): Buffer[] {
  const inline = options.get('databroker_encryption_key');
  let texts: { text: string; loc: Located }[] | undefined;
  if (inline !== undefined && inline.node.kind === 'list') {
    if (options.get('databroker_encryption_key_file') !== undefined) {
      f.error(options.get('databroker_encryption_key_file')!, 'set either databroker_encryption_key or databroker_encryption_key_file, not both');
      return [];
    }
    const list = readStringList(f, inline);
    texts = list?.map((text) => ({ text, loc: inline }));
  } else {
    const value = valueOrFile(f, options, 'databroker_encryption_key', dir);
    if (value === undefined || value === null) return [];
    const parts = value.text.split(value.fromFile ? /[\s,]+/ : ',').map((part) => part.trim());
    texts = parts.filter((part) => part !== '').map((text) => ({ text, loc: value.loc }));
    if (texts.length === 0 && value.fromFile) f.error(value.loc, 'the file holds no key');
  }
  const keys: Buffer[] = [];
  for (const [i, { text, loc }] of (texts ?? []).entries()) {
    const which = texts!.length === 1 ? 'the key' : `key ${i + 1}`;
    const bytes = decodeBase64Std(text);
    if (bytes === null) f.error(loc, `${which} must be base64 (standard alphabet, with padding)`);
    else if (bytes.length !== KEY_BYTES) f.error(loc, `${which} must decode to ${KEY_BYTES} bytes, not ${bytes.length} (generate one with: head -c32 /dev/urandom | base64)`);
    else if (keys.some((key) => key.equals(bytes))) f.error(loc, `${which} is listed twice`);
    else keys.push(bytes);
  }
  return keys;
}

const CLUSTER_KEYS = [
  'databroker_cluster_node_id',
  'databroker_cluster_leader_id',
  'databroker_cluster_certificate_file',
  'databroker_cluster_certificate_key_file',
  'databroker_cluster_ca_file',
];

function decodeCluster(f: Findings, options: Options, dir: string, storage: DatabrokerStorage): DatabrokerCluster | null {
  const nodesLoc = options.get('databroker_cluster_nodes');
  const nodes = nodesLoc === undefined ? [] : decodeNodes(f, nodesLoc);
  if (nodesLoc === undefined || nodes === undefined || nodes.length === 0) {
    if (nodes !== undefined) {
      for (const key of CLUSTER_KEYS) {
        const loc = options.get(key);
        if (loc !== undefined) f.warn(loc, 'ignored: databroker_cluster_nodes is not set');
      }
    }
    return null;
  }
  const ids = new Set(nodes.map((node) => node.id));
  const nodeIdLoc = options.get('databroker_cluster_node_id');
  const nodeId = nodeIdLoc === undefined ? undefined : readString(f, nodeIdLoc);
  if (nodeIdLoc === undefined) f.error(nodesLoc, "databroker_cluster_node_id must name this instance's entry in databroker_cluster_nodes");
  else if (nodeId !== undefined && !ids.has(nodeId)) f.error(nodeIdLoc, `node ${JSON.stringify(nodeId)} is not in databroker_cluster_nodes`);
  const leaderLoc = options.get('databroker_cluster_leader_id');
  const leaderText = leaderLoc === undefined ? undefined : readString(f, leaderLoc);
  if (leaderLoc !== undefined && leaderText !== undefined && !ids.has(leaderText)) {
    f.error(leaderLoc, `node ${JSON.stringify(leaderText)} is not in databroker_cluster_nodes`);
  }
  if (storage.type === 'postgres') {
    f.error(nodesLoc, 'a peer group keeps its history in each node’s own memory or file storage; instances on postgres already share it (drop databroker_cluster_nodes, or use file storage)');
  }
  const certificate = decodeCertificateFiles(
    f,
    options.get('databroker_cluster_certificate_file'),
    options.get('databroker_cluster_certificate_key_file'),
    'databroker_cluster_certificate_file and databroker_cluster_certificate_key_file',
    dir,
  );
  if (options.get('databroker_cluster_certificate_file') === undefined && options.get('databroker_cluster_certificate_key_file') === undefined) {
    f.error(nodesLoc, 'peers talk over mutual TLS: set databroker_cluster_certificate_file and databroker_cluster_certificate_key_file');
  }
  const caLoc = options.get('databroker_cluster_ca_file');
  const caPem = decodeCaBundleFile(f, caLoc, dir);
  if (caLoc === undefined) f.error(nodesLoc, 'peers accept only certificates signed by databroker_cluster_ca_file: set it');
  if (nodeId === undefined || !ids.has(nodeId) || certificate === null || caPem === null) return null;
  const leaderId = leaderText !== undefined && ids.has(leaderText) ? leaderText : nodes[0]!.id;
  return { nodes, nodeId, leaderId, certificate, caPem };
}

/** `[{id, address}, …]`; from the environment, a JSON array. undefined when it has problems. */
function decodeNodes(f: Findings, loc: Located): DatabrokerClusterNode[] | undefined {
  let items: Located[] | undefined;
  const { node } = loc;
  if (node.kind === 'scalar' && typeof node.value === 'string') {
    try {
      const tree = fromPlain(JSON.parse(node.value), node.file, node.line);
      if (tree.kind === 'list') items = tree.items.map((item, i) => ({ node: item, key: `${loc.key}[${i}]` }));
    } catch {
      // reported below
    }
    if (items === undefined) {
      f.error(loc, 'must be a list of {id, address} (or, as a string, a JSON array of them)');
      return undefined;
    }
  } else {
    items = readList(f, loc);
    if (items === undefined) return undefined;
  }
  const nodes: DatabrokerClusterNode[] = [];
  const addresses = new Set<string>();
  let ok = true;
  for (const item of items) {
    const decoded = decodeNode(f, item);
    if (decoded === undefined) {
      ok = false;
      continue;
    }
    if (nodes.some((n) => n.id === decoded.id)) {
      f.error(item, `node ${JSON.stringify(decoded.id)} is listed twice`);
      ok = false;
    } else if (addresses.has(decoded.address)) {
      f.error(item, `address ${decoded.address} is listed twice`);
      ok = false;
    } else {
      addresses.add(decoded.address);
      nodes.push(decoded);
    }
  }
  return ok ? nodes : undefined;
}

function decodeNode(f: Findings, item: Located): DatabrokerClusterNode | undefined {
  if (item.node.kind !== 'map') {
    f.error(item, 'must be a map with id and address');
    return undefined;
  }
  const entry = Options.of(item.node, item.key);
  for (const e of entry.entries.values()) {
    if (e.name === 'grpc_address') {
      f.error(e.loc, "Postern's peers do not speak Pomerium's gRPC: give each node an address (host:port) and the databroker_cluster_certificate_file, _key_file and _ca_file for mutual TLS");
    } else if (e.name === 'raft_address') {
      f.warn(e.loc, 'ignored: Postern elects no leader with Raft; the leader is databroker_cluster_leader_id, else the first node');
    } else if (e.name !== 'id' && e.name !== 'address') {
      f.warn(e.loc, 'unknown config option');
    }
  }
  const idLoc = entry.get('id');
  const addressLoc = entry.get('address');
  const id = idLoc === undefined ? undefined : readString(f, idLoc);
  const address = addressLoc === undefined ? undefined : readString(f, addressLoc);
  if (idLoc === undefined || addressLoc === undefined) f.error(item, 'needs both id and address');
  if (id !== undefined && id.trim() === '') f.error(idLoc!, 'must not be empty');
  if (address === undefined || id === undefined || id.trim() === '') return undefined;
  const parsed = parseNodeAddress(address);
  if (typeof parsed === 'string') {
    f.error(addressLoc!, parsed);
    return undefined;
  }
  return { id, address };
}

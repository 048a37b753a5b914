// Typed readers over located values, with the weak typing Pomerium gets from
// viper/mapstructure: a string becomes a list by splitting on `,`, a string
// becomes a map by parsing it as JSON, booleans and numbers may be written as
// strings (every environment value is one). Each reader reports its own
// problem and returns undefined, so decoding carries on and finds the rest.
// Messages never quote the value: the same readers serve secrets.
import { parseDuration } from './duration.js';
import type { Findings, Located } from './findings.js';
import { fromPlain, type MapNode, type SourceNode } from './source.js';

export interface Entry {
  readonly name: string;
  /** Line of the key (0 for the environment). */
  readonly line: number;
  readonly loc: Located;
}

/** The keys of one map (the global options, one route, one nested object), by name. */
export class Options {
  constructor(readonly entries: ReadonlyMap<string, Entry>) {}

  static of(node: MapNode, key: string): Options {
    const entries = new Map<string, Entry>();
    for (const e of node.entries) entries.set(e.name, { name: e.name, line: e.line, loc: { node: e.value, key: childKey(key, e.name) } });
    return new Options(entries);
  }

  /** The value, or undefined when the key is absent or null (`key:` with nothing after it means unset). */
  get(name: string): Located | undefined {
    const entry = this.entries.get(name);
    if (entry === undefined) return undefined;
    const { node } = entry.loc;
    return node.kind === 'scalar' && node.value === null ? undefined : entry.loc;
  }
}

export function childKey(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}

function kindName(node: SourceNode): string {
  if (node.kind !== 'scalar') return node.kind;
  return node.value === null ? 'null' : typeof node.value;
}

export function readString(f: Findings, loc: Located): string | undefined {
  const { node } = loc;
  if (node.kind === 'scalar' && node.value !== null) return node.text;
  f.error(loc, `must be a string, not a ${kindName(node)}`);
  return undefined;
}

// strconv.ParseBool's spellings.
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

export function readBool(f: Findings, loc: Located): boolean | undefined {
  const { node } = loc;
  if (node.kind === 'scalar') {
    if (typeof node.value === 'boolean') return node.value;
    if (node.value === 0 || node.value === 1) return node.value === 1;
    if (typeof node.value === 'string') {
      if (TRUE.has(node.value)) return true;
      if (FALSE.has(node.value)) return false;
    }
  }
  f.error(loc, 'must be true or false');
  return undefined;
}

export function readUint32(f: Findings, loc: Located): number | undefined {
  const { node } = loc;
  if (node.kind === 'scalar') {
    const n = typeof node.value === 'number' ? node.value : typeof node.value === 'string' && /^\d+$/.test(node.value) ? Number(node.value) : NaN;
    if (Number.isInteger(n) && n >= 0 && n <= 0xffffffff) return n;
  }
  f.error(loc, 'must be a whole number from 0 to 4294967295');
  return undefined;
}

/**
 * A Go duration, as whole milliseconds. Sub-millisecond values round up, so
 * a tiny positive timeout never turns into 0, which means "none".
 */
export function readDurationMs(f: Findings, loc: Located): number | undefined {
  const { node } = loc;
  if (node.kind === 'scalar' && node.value === 0) return 0;
  if (node.kind !== 'scalar' || typeof node.value !== 'string') {
    const hint = node.kind === 'scalar' && typeof node.value === 'number' ? ' (a number needs a unit, e.g. 30s)' : '';
    f.error(loc, `must be a duration such as 30s, 1h45m or 300ms${hint}`);
    return undefined;
  }
  const parsed = parseDuration(node.value);
  if (!parsed.ok) {
    f.error(loc, parsed.error);
    return undefined;
  }
  if (parsed.value < 0) {
    f.error(loc, 'must not be negative');
    return undefined;
  }
  return Math.ceil(parsed.value);
}

/** The items of a list; a string is split on `,` (an empty string is an empty list), another scalar is a list of one. */
export function readList(f: Findings, loc: Located): Located[] | undefined {
  const { node } = loc;
  if (node.kind === 'list') return node.items.map((item, i) => ({ node: item, key: `${loc.key}[${i}]` }));
  if (node.kind === 'map') {
    f.error(loc, 'must be a list, not a map');
    return undefined;
  }
  if (typeof node.value !== 'string') return [loc];
  if (node.value === '') return [];
  return node.value.split(',').map((part, i) => ({
    node: { kind: 'scalar', file: node.file, line: node.line, value: part, text: part },
    key: `${loc.key}[${i}]`,
  }));
}

export function readStringList(f: Findings, loc: Located): string[] | undefined {
  const items = readList(f, loc);
  if (items === undefined) return undefined;
  const out: string[] = [];
  let ok = true;
  for (const item of items) {
    const s = readString(f, item);
    if (s === undefined) ok = false;
    else out.push(s);
  }
  return ok ? out : undefined;
}

/** The entries of a map; a string is parsed as a JSON object. */
export function readMap(f: Findings, loc: Located): Options | undefined {
  const { node } = loc;
  if (node.kind === 'map') return Options.of(node, loc.key);
  if (node.kind === 'scalar' && typeof node.value === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(node.value);
    } catch {
      parsed = undefined;
    }
    const tree = parsed === undefined ? undefined : fromPlain(parsed, node.file, node.line);
    if (tree?.kind === 'map') return Options.of(tree, loc.key);
    f.error(loc, 'must be a map (or, as a string, a JSON object)');
    return undefined;
  }
  f.error(loc, `must be a map, not a ${kindName(node)}`);
  return undefined;
}

/** A map whose values are all strings (header values, request parameters). */
export function readStringMap(f: Findings, loc: Located): { name: string; value: string; loc: Located }[] | undefined {
  const map = readMap(f, loc);
  if (map === undefined) return undefined;
  const out: { name: string; value: string; loc: Located }[] = [];
  let ok = true;
  for (const entry of map.entries.values()) {
    const value = readString(f, entry.loc);
    if (value === undefined) ok = false;
    else out.push({ name: entry.name, value, loc: entry.loc });
  }
  return ok ? out : undefined;
}

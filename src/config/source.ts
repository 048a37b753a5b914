// Reading a configuration file into a small tree that remembers, for every
// value, the file and line it came from — so every problem can be reported
// as `file:line: key: message`. YAML and JSON go through the same parser
// (the `yaml` package keeps node ranges for both); values from the
// environment use the same tree with line 0.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { Errors, PosternError } from '../errors.js';
import type { Findings, Where } from './findings.js';

export type ScalarValue = string | number | boolean | null;

interface NodeBase {
  readonly file: string;
  /** 1-based; 0 when the value has no line (environment). */
  readonly line: number;
}

export interface ScalarNode extends NodeBase {
  readonly kind: 'scalar';
  readonly value: ScalarValue;
  /** The value as written: a plain `0123` stays `0123` where a string is wanted. */
  readonly text: string;
}

export interface MapEntry {
  readonly name: string;
  /** Line of the key itself. */
  readonly line: number;
  readonly value: SourceNode;
}

export interface MapNode extends NodeBase {
  readonly kind: 'map';
  readonly entries: readonly MapEntry[];
}

export interface ListNode extends NodeBase {
  readonly kind: 'list';
  readonly items: readonly SourceNode[];
}

export type SourceNode = ScalarNode | MapNode | ListNode;

export type SourceFormat = 'yaml' | 'json';

/** Reads the file; a file that cannot be read is not a config problem but a start-up failure. */
export function readConfigFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PosternError(Errors.CONFIG_UNREADABLE, `${file}: ${code}`, { cause: err });
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** JSON for `.json`, YAML otherwise (YAML is a superset of JSON); null for TOML, which Postern does not read. */
export function formatOf(file: string): SourceFormat | null {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.toml') return null;
  return 'yaml';
}

export interface ParseOrigin {
  /** Reported as the problem's file: the path, or `env`. */
  readonly file: string;
  /** Key reported for syntax errors (`yaml`, `json`, or the variable name). */
  readonly key: string;
  /** False for text from the environment: lines are reported as 0, the text's own line goes in the message. */
  readonly lines: boolean;
}

/**
 * Parses a whole document. Returns null (with the problems recorded) when the
 * text is not well-formed; an empty document is an empty map.
 */
export function parseSource(text: string, format: SourceFormat, origin: ParseOrigin, findings: Findings): SourceNode | null {
  const counter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: counter,
    prettyErrors: false,
    merge: format === 'yaml',
    schema: format === 'json' ? 'json' : 'core',
    uniqueKeys: true,
  });
  const lineAt = (offset: number): number => counter.linePos(offset).line;
  const report: Report = (line, message, warning) => {
    const at: Where = { file: origin.file, line: origin.lines ? line : 0, key: origin.key };
    const text = origin.lines ? message : `line ${line}: ${message}`;
    if (warning) findings.warnAt(at, text);
    else findings.errorAt(at, text);
  };
  for (const e of doc.errors) report(lineAt(e.pos[0]), safeMessage(e.code, e.message), false);
  for (const w of doc.warnings) report(lineAt(w.pos[0]), safeMessage(w.code, w.message), true);
  if (doc.errors.length > 0) return null;
  if (format === 'json' && !strictJson(text, (offset, message) => report(lineAt(offset), message, false))) return null;
  if (doc.contents === null) return { kind: 'map', file: origin.file, line: origin.lines ? 1 : 0, entries: [] };
  const converter = new Converter(doc, origin, lineAt, report);
  return converter.convert(doc.contents);
}

/**
 * The parser's message without the text it quotes (after `: `, in double
 * quotes, or an escape sequence): a syntax error next to a secret must not
 * print the secret.
 */
function safeMessage(code: string, message: string): string {
  if (code === 'BAD_DQ_ESCAPE') return 'invalid escape sequence in a double-quoted string';
  const first = message.split('\n', 1)[0] ?? message;
  return first.replace(/: .*$/, '').replace(/"[^"]*"/g, '"…"');
}

/**
 * YAML accepts JSON's superset (trailing commas, comments), so a `.json` file
 * is also checked with JSON.parse, as Go's encoding/json would. Only
 * position-bearing messages are reused: V8 quotes the input in others.
 */
function strictJson(text: string, report: (offset: number, message: string) => void): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch (err) {
    const message = (err as Error).message;
    const m = /^(.*?) in JSON at position (\d+)/.exec(message);
    if (m !== null) report(Number(m[2]), `invalid JSON: ${m[1]}`);
    else if (message.startsWith('Unexpected end')) report(text.length, 'invalid JSON: unexpected end of input');
    else report(0, 'invalid JSON: unexpected token');
    return false;
  }
}

/** Records a finding at a line of the parsed text. */
type Report = (line: number, message: string, warning: boolean) => void;

class Converter {
  /** Aliases share the converted node, so an anchor used many times is converted once. */
  readonly #done = new Map<YamlNode, SourceNode>();
  readonly #active = new Set<YamlNode>();

  constructor(
    private readonly doc: Document.Parsed,
    private readonly origin: ParseOrigin,
    private readonly lineAt: (offset: number) => number,
    private readonly report: Report,
  ) {}

  /** The node's line in the parsed text (used in messages even when nodes carry 0). */
  #line(node: YamlNode | null | undefined, fallback: number): number {
    const range = node?.range;
    return range ? this.lineAt(range[0]) : fallback;
  }

  /** The line a node carries: 0 for text whose lines mean nothing to the reader (environment). */
  #nodeLine(line: number): number {
    return this.origin.lines ? line : 0;
  }

  convert(node: unknown, fallbackLine = 0): SourceNode {
    const file = this.origin.file;
    if (node === null || node === undefined) {
      return { kind: 'scalar', file, line: this.#nodeLine(fallbackLine), value: null, text: '' };
    }
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (target === undefined || this.#active.has(target)) {
        const line = this.#line(node, fallbackLine);
        this.report(line, 'the alias refers to a missing anchor or to a value that contains it', false);
        return { kind: 'scalar', file, line: this.#nodeLine(line), value: null, text: '' };
      }
      return this.convert(target, fallbackLine);
    }
    const yamlNode = node as YamlNode;
    const done = this.#done.get(yamlNode);
    if (done !== undefined) return done;
    this.#active.add(yamlNode);
    const converted = this.#convertNode(yamlNode, fallbackLine);
    this.#active.delete(yamlNode);
    this.#done.set(yamlNode, converted);
    return converted;
  }

  #convertNode(node: YamlNode, fallbackLine: number): SourceNode {
    const file = this.origin.file;
    const real = this.#line(node, fallbackLine);
    const line = this.#nodeLine(real);
    if (isScalar(node)) {
      const value = scalarValue(node.value);
      const text = typeof node.value === 'string' ? node.value : (node.source ?? String(node.value));
      return { kind: 'scalar', file, line, value, text };
    }
    if (isSeq(node)) {
      return { kind: 'list', file, line, items: node.items.map((item) => this.convert(item, real)) };
    }
    if (isMap(node)) return { kind: 'map', file, line, entries: this.#entries(node.items, real) };
    this.report(real, 'unsupported YAML node', false);
    return { kind: 'scalar', file, line, value: null, text: '' };
  }

  #entries(pairs: readonly { key: unknown; value: unknown }[], mapLine: number): MapEntry[] {
    const explicit: MapEntry[] = [];
    const merged: MapEntry[][] = [];
    for (const pair of pairs) {
      const key = isAlias(pair.key) ? pair.key.resolve(this.doc) : pair.key;
      const keyLine = this.#line(key as YamlNode | null, mapLine);
      if (isScalar(key) && typeof key.value === 'symbol') {
        merged.push(this.#mergeSources(pair.value, keyLine));
        continue;
      }
      if (!isScalar(key) || key.value === null || typeof key.value === 'object') {
        this.report(keyLine, 'keys must be plain strings', false);
        continue;
      }
      explicit.push({ name: String(key.value), line: this.#nodeLine(keyLine), value: this.convert(pair.value, keyLine) });
    }
    // YAML merge keys: explicit keys win, then earlier merged maps over later ones.
    const seen = new Set(explicit.map((e) => e.name));
    const out = explicit;
    for (const group of merged) {
      for (const entry of group) {
        if (seen.has(entry.name)) continue;
        seen.add(entry.name);
        out.push(entry);
      }
    }
    return out;
  }

  #mergeSources(value: unknown, line: number): MapEntry[] {
    const node = this.convert(value, line);
    const maps = node.kind === 'list' ? node.items : [node];
    const out: MapEntry[] = [];
    for (const m of maps) {
      if (m.kind !== 'map') {
        this.report(line, 'a merge key (<<) needs a map or a list of maps', false);
        continue;
      }
      out.push(...m.entries);
    }
    return out;
  }
}

function scalarValue(value: unknown): ScalarValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  return String(value);
}

/** The plain JavaScript value of a node (for data kept as is, such as a PPL policy). */
export function toPlain(node: SourceNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'list':
      return node.items.map(toPlain);
    case 'map':
      // fromEntries defines own properties, so a `__proto__` key stays a key.
      return Object.fromEntries(node.entries.map((e) => [e.name, toPlain(e.value)]));
  }
}

/** A tree for a value parsed from JSON text (environment variables), all on one line. */
export function fromPlain(value: unknown, file: string, line: number): SourceNode {
  if (Array.isArray(value)) return { kind: 'list', file, line, items: value.map((v) => fromPlain(v, file, line)) };
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([name, v]) => ({ name, line, value: fromPlain(v, file, line) }));
    return { kind: 'map', file, line, entries };
  }
  const scalar = scalarValue(value ?? null);
  return { kind: 'scalar', file, line, value: scalar, text: scalar === null ? '' : String(scalar) };
}

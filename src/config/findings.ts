// What validation found, collected rather than thrown: `postern check` must
// name every problem in one run, not only the first.
import type { ConfigProblem } from '../errors.js';
import type { ConfigWarning } from './types.js';
import type { SourceNode } from './source.js';

/** A value in the configuration and the key path it is reported under (`routes[2].to`, `ADDRESS`). */
export interface Located {
  readonly node: SourceNode;
  readonly key: string;
}

/** A place to report a finding that has no value node (a missing key, a key itself). */
export interface Where {
  readonly file: string;
  readonly line: number;
  readonly key: string;
}

/** The outcome of a pure parser: a value, or why there is none. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export function where(loc: Located): Where {
  return { file: loc.node.file, line: loc.node.line, key: loc.key };
}

export class Findings {
  readonly errors: ConfigProblem[] = [];
  readonly warnings: ConfigWarning[] = [];

  error(loc: Located, message: string): void {
    this.errorAt(where(loc), message);
  }

  errorAt(at: Where, message: string): void {
    this.errors.push({ file: at.file, line: at.line, key: at.key, message });
  }

  warn(loc: Located, message: string): void {
    this.warnAt(where(loc), message);
  }

  warnAt(at: Where, message: string): void {
    this.warnings.push({ file: at.file, line: at.line, key: at.key, message });
  }
}

// Every process the harness starts goes through one ProcessGroup, so that a
// normal end, an error and Ctrl-C all stop the same list, by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const TAIL_LINES = 40;
const STOP_GRACE_MS = 5_000;

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** The last lines the child wrote (stdout and stderr), for error messages. */
  readonly tail: string[];
  /** Resolves with the exit code (or the signal's name) when the child ends. */
  readonly exited: Promise<number | string>;
  /** True once `exited` has resolved. */
  hasExited(): boolean;
}

export interface StartOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Called with each stdout line (the line is also kept in `tail`). */
  readonly onStdoutLine?: (line: string) => void;
}

export class ProcessGroup {
  readonly #children = new Set<Child>();

  start(name: string, command: string, args: readonly string[], options: StartOptions = {}): Child {
    const proc = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (proc.pid === undefined) {
      // spawn reports ENOENT and friends asynchronously; the pid is missing synchronously.
      throw new Error(`cannot start ${name}: ${command} could not be executed`);
    }
    const tail: string[] = [];
    const keep = (line: string): void => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    };
    const onStdout = options.onStdoutLine;
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      keep(line);
      onStdout?.(line);
    });
    createInterface({ input: proc.stderr! }).on('line', keep);
    let done = false;
    const exited = new Promise<number | string>((resolve) => {
      proc.on('error', (err) => keep(`spawn error: ${err.message}`));
      proc.on('close', (code, signal) => {
        done = true;
        this.#children.delete(child);
        resolve(code ?? signal ?? 'unknown');
      });
    });
    const child: Child = { name, process: proc, pid: proc.pid, tail, exited, hasExited: () => done };
    this.#children.add(child);
    return child;
  }

  /** SIGTERM to every child still running, SIGKILL to those still there after a grace period. */
  async stopAll(): Promise<void> {
    const running = [...this.#children];
    for (const child of running) child.process.kill('SIGTERM');
    await Promise.all(
      running.map(async (child) => {
        let timer: NodeJS.Timeout | undefined;
        const killed = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            child.process.kill('SIGKILL');
            resolve();
          }, STOP_GRACE_MS);
        });
        await Promise.race([child.exited, killed]);
        clearTimeout(timer);
        await child.exited;
      }),
    );
  }
}

/** Formats a child's last output for an error message. */
export function describeTail(child: Child): string {
  return child.tail.length === 0 ? '(no output)' : child.tail.map((l) => `  | ${l}`).join('\n');
}

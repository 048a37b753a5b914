// What every end-to-end benchmark does around its measurements: read the
// options, make a work directory, start processes in one group, and stop
// them all (and remove the directory) however the run ends, Ctrl-C included.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, UsageError, type BenchOptions } from './args.js';
import { ProcessGroup } from './children.js';
import { workRoot } from './paths.js';

export interface BenchRun {
  /** Shown for --help and after a usage error. */
  readonly usage: string;
  /** Prefix of the work directory under bench/.work. */
  readonly workPrefix: string;
  /** Said when the run fails (not after an interruption, which is why it failed). */
  readonly failure: string;
  run(options: BenchOptions, group: ProcessGroup, workDir: string): Promise<void>;
}

/** Runs a benchmark and resolves with the process exit code. */
export async function runBench(bench: BenchRun): Promise<number> {
  let options: BenchOptions | null;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n${bench.usage}\n`);
    return 2;
  }
  if (options === null) {
    process.stdout.write(`${bench.usage}\n`);
    return 0;
  }
  mkdirSync(workRoot, { recursive: true });
  const workDir = mkdtempSync(join(workRoot, bench.workPrefix));
  const group = new ProcessGroup();
  let cleaned: Promise<void> | null = null;
  let interrupted = false;
  const cleanUp = (): Promise<void> => (cleaned ??= group.stopAll().then(() => rmSync(workDir, { recursive: true, force: true })));
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    process.stdout.write(`\n${signal}: stopping everything the benchmark started …\n`);
    void cleanUp().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await bench.run(options, group, workDir);
    return 0;
  } catch (err) {
    if (!interrupted) process.stderr.write(`${bench.failure}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await cleanUp();
  }
}

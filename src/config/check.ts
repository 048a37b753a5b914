// `postern check --config FILE`: every error and warning of a configuration
// as `file:line: key: message` (warnings as `file:line: key: warning: message`),
// in file order, the environment last. The CLI turns `ok` into the exit code.
import { Errors, formatProblem, PosternError } from '../errors.js';
import { analyseConfig, inFileOrder } from './load.js';

export interface CheckResult {
  readonly ok: boolean;
  readonly lines: string[];
}

export function checkConfig(file: string, env: NodeJS.ProcessEnv = process.env): CheckResult {
  let analysis;
  try {
    analysis = analyseConfig(file, env);
  } catch (err) {
    if (err instanceof PosternError && err.code === Errors.CONFIG_UNREADABLE.code) {
      return { ok: false, lines: [`${file}:0: config: ${err.message}`] };
    }
    throw err;
  }
  const lines = inFileOrder([
    ...analysis.errors.map((p) => ({ ...p, text: formatProblem(p) })),
    ...analysis.warnings.map((w) => ({ ...w, text: `${w.file}:${w.line}: ${w.key}: warning: ${w.message}` })),
  ]).map((x) => x.text);
  return { ok: analysis.errors.length === 0, lines };
}

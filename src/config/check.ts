// `postern check --config FILE`: every error and warning of a configuration
// as `file:line: key: message` (warnings as `file:line: key: warning: message`),
// in file order, the environment last. The CLI turns `ok` into the exit code.
import { Errors, formatProblem, PosternError } from '../errors.js';
import { ENV_FILE } from './env.js';
import { analyseConfig } from './load.js';
import type { ConfigWarning } from './types.js';

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
  const findings: { at: ConfigWarning; line: string }[] = [
    ...analysis.errors.map((p) => ({ at: p, line: formatProblem(p) })),
    ...analysis.warnings.map((w) => ({ at: w, line: `${w.file}:${w.line}: ${w.key}: warning: ${w.message}` })),
  ];
  const rank = (at: ConfigWarning): number => (at.file === ENV_FILE ? 1 : 0);
  findings.sort((a, b) => rank(a.at) - rank(b.at) || a.at.line - b.at.line);
  return { ok: analysis.errors.length === 0, lines: findings.map((x) => x.line) };
}

// Runs every compiled test file (dist/test/**/*.test.js) with node:test.
// Node 20's runner takes no glob, so the files are listed here; arguments
// narrow the run to files whose path contains one of them.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = join(root, 'dist', 'test');

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = find(testDir)
  .filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files found under dist/test (did the build run?)');
  process.exit(1);
}
// Bounded, so that a test (or a test file whose process never exits) cannot
// hang a run: each test gets three minutes, the whole run eighteen (CI's
// budget is twenty).
const RUN_TIMEOUT_MS = 18 * 60_000;
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=180000', '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: root, timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' },
);
if (result.error) {
  console.error(`test run stopped: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);

// Where things are, from the compiled file's position (dist/bench/lib/paths.js),
// so the harness works whatever the current directory is.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** Scratch space for configs, pid files and logs of one run; ignored by git and removed at the end. */
export const workRoot = join(repoRoot, 'bench', '.work');
export const resultsDir = join(repoRoot, 'bench', 'results');
export const wrkReportScript = join(repoRoot, 'bench', 'wrk', 'report.lua');
export const posternMain = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
export const uwsHelloMain = join(repoRoot, 'dist', 'bench', 'upstream', 'uws-hello.js');

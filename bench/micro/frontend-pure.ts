// Nanoseconds per call of the pure functions the front end runs on every
// request (and, for comparison, the error-reply ones it runs on refusals),
// over realistic inputs. Run by hand after a build:
//   node dist/bench/micro/frontend-pure.js
// Each function has its own timing loop so every call site stays
// monomorphic; a round is sized to take about 100 ms; the table shows the
// median and the best of the rounds.
import { normalizePath, checkQuery } from '../../src/frontend/normalize-path.js';
import { checkHeaders } from '../../src/frontend/check-headers.js';
import { parseAuthority } from '../../src/frontend/authority.js';
import { errorFormat } from '../../src/frontend/error-format.js';
import { renderErrorPage } from '../../src/frontend/error-page.js';

const ROUNDS = 7;
const ROUND_NS = 100_000_000n;

let sink = 0; // results feed this so the work cannot be optimised away

type Loop = (iterations: number) => void;

function loopNormalizePath(text: string): Loop {
  const input = native(text);
  return (iterations) => {
    for (let i = 0; i < iterations; i++) {
      const r = normalizePath(input);
      sink += typeof r === 'string' ? r.length : r.status;
    }
  };
}

function loopCheckQuery(text: string): Loop {
  const input = native(text);
  return (iterations) => {
    for (let i = 0; i < iterations; i++) sink += checkQuery(input) === null ? 1 : 2;
  };
}

function loopCheckHeaders(input: readonly string[]): Loop {
  return (iterations) => {
    for (let i = 0; i < iterations; i++) sink += checkHeaders(input) === null ? 1 : 2;
  };
}

function loopParseAuthority(text: string): Loop {
  const input = native(text);
  return (iterations) => {
    for (let i = 0; i < iterations; i++) {
      const r = parseAuthority(input);
      sink += r === null ? 0 : r.host.length;
    }
  };
}

function loopErrorFormat(accept: string | undefined, contentType: string | undefined): Loop {
  return (iterations) => {
    for (let i = 0; i < iterations; i++) sink += errorFormat(accept, contentType).length;
  };
}

function loopRenderErrorPage(format: 'html' | 'json', detail: string | undefined): Loop {
  return (iterations) => {
    for (let i = 0; i < iterations; i++) {
      sink += renderErrorPage(format, 403, 'Forbidden', '6f0c6d3e-9a77-4d1c-8f5e-0d6c9b2f3a41', detail).body.length;
    }
  };
}

function nsPerOp(loop: Loop, iterations: number): number {
  const start = process.hrtime.bigint();
  loop(iterations);
  return Number(process.hrtime.bigint() - start) / iterations;
}

function measure(loop: Loop): { median: number; best: number } {
  // Warm up (lets the JIT optimise), then size a round to ROUND_NS.
  let iterations = 1000;
  for (;;) {
    const start = process.hrtime.bigint();
    loop(iterations);
    const took = process.hrtime.bigint() - start;
    if (took > ROUND_NS / 4n) {
      iterations = Math.max(1, Math.round((iterations * Number(ROUND_NS)) / Number(took)));
      break;
    }
    iterations *= 4;
  }
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) samples.push(nsPerOp(loop, iterations));
  samples.sort((a, b) => a - b);
  return { median: samples[ROUNDS >> 1]!, best: samples[0]! };
}

/**
 * A flat copy made by native code, as uWS makes its strings. A string built
 * by `+` here would be a rope, slower to index and not what a request holds.
 */
function native(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

const browserHeaders: readonly string[] = [
  'host', 'app.example.com',
  'connection', 'keep-alive',
  'sec-ch-ua', '"Chromium";v="128", "Not;A=Brand";v="24", "Google Chrome";v="128"',
  'sec-ch-ua-mobile', '?0',
  'sec-ch-ua-platform', '"Linux"',
  'upgrade-insecure-requests', '1',
  'user-agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36',
  'accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8',
  'sec-fetch-site', 'none',
  'sec-fetch-mode', 'navigate',
  'sec-fetch-user', '?1',
  'sec-fetch-dest', 'document',
  'accept-encoding', 'gzip, deflate, br, zstd',
  'accept-language', 'en-GB,en;q=0.9,fr;q=0.8',
  'cookie', '_pomerium=' + 'a'.repeat(180) + '; _ga=GA1.1.123456789.1712345678; theme=dark',
].map(native);
const apiHeaders: readonly string[] = [
  'host', 'api.example.com:8443',
  'user-agent', 'python-requests/2.32.3',
  'accept', 'application/json',
  'content-type', 'application/json',
  'content-length', '348',
  'authorization', 'Bearer Pomerium-' + 'eyJhbGciOiJFUzI1NiJ9.'.padEnd(800, 'x'),
  'x-request-id', '0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f',
].map(native);
const curlHeaders: readonly string[] = ['host', 'localhost:8080', 'user-agent', 'curl/8.5.0', 'accept', '*/*'].map(native);

const chromeAccept = native('text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8');

const cases: ReadonlyArray<readonly [string, Loop]> = [
  ['normalizePath  /', loopNormalizePath('/')],
  ['normalizePath  /api/v1/users/12345/profile', loopNormalizePath('/api/v1/users/12345/profile')],
  ['normalizePath  /static/js/main.8f3a2c1b.chunk.js', loopNormalizePath('/static/js/main.8f3a2c1b.chunk.js')],
  [
    'normalizePath  118-char canonical path',
    loopNormalizePath('/app/projects/7f3e9a12-4b5c-4d6e-8f90-a1b2c3d4e5f6/environments/production/deployments/2026-08-20T15:44:19Z/logs'),
  ],
  ['normalizePath  /files/Quarterly%20Report%20Q3.pdf', loopNormalizePath('/files/Quarterly%20Report%20Q3.pdf')],
  ['normalizePath  /a/./b/../c/%7euser//x (rebuilt)', loopNormalizePath('/a/./b/../c/%7euser//x')],
  ['normalizePath  /.pomerium/%2e%2e/secret (rebuilt)', loopNormalizePath('/.pomerium/%2e%2e/secret')],
  ['normalizePath  /docs/café/résumé (rebuilt)', loopNormalizePath('/docs/café/résumé')],
  ['normalizePath  /admin%2Fsecret (refused)', loopNormalizePath('/admin%2Fsecret')],
  ['checkQuery     page=2&sort=name&q=hello+world', loopCheckQuery('page=2&sort=name&filter=status%3Aactive&q=hello+world')],
  ['checkHeaders   browser navigation (15 headers)', loopCheckHeaders(browserHeaders)],
  ['checkHeaders   API POST with bearer (7 headers)', loopCheckHeaders(apiHeaders)],
  ['checkHeaders   curl (3 headers)', loopCheckHeaders(curlHeaders)],
  ['parseAuthority app.example.com', loopParseAuthority('app.example.com')],
  ['parseAuthority app.example.com:8443', loopParseAuthority('app.example.com:8443')],
  ['parseAuthority App.Example.COM', loopParseAuthority('App.Example.COM')],
  ['parseAuthority 127.0.0.1:8080', loopParseAuthority('127.0.0.1:8080')],
  ['parseAuthority [::1]:8443', loopParseAuthority('[::1]:8443')],
  ['errorFormat    Chrome Accept (error path)', loopErrorFormat(chromeAccept, undefined)],
  ['errorFormat    application/json (error path)', loopErrorFormat('application/json', undefined)],
  ['renderErrorPage html + detail (error path)', loopRenderErrorPage('html', 'access to this route is not allowed')],
  ['renderErrorPage json (error path)', loopRenderErrorPage('json', undefined)],
];

const rows: string[][] = [];
for (const [name, loop] of cases) {
  const { median, best } = measure(loop);
  rows.push([name, median.toFixed(1), best.toFixed(1), Math.round(1e9 / median).toLocaleString('en-US')]);
}

const header = ['function / input', 'ns/op (median)', 'ns/op (best)', 'ops/s (median)'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: readonly string[]) =>
  '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
console.log(`Node ${process.version}, ${ROUNDS} rounds of ~${Number(ROUND_NS) / 1e6} ms each`);
console.log(line(header));
console.log('|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
for (const row of rows) console.log(line(row));
if (sink === -1) console.log(''); // keeps `sink` observable

// Per-request cost of the pure functions between route matching and the
// upstream request. Run by hand after a build:
//   node dist/bench/micro/proxy-pure.js
// Each case runs warm-up iterations first (so the JIT has settled), then
// several timed rounds; the table shows the median and best round in ns/op.
import type { Route } from '../../src/config/types.js';
import { Router } from '../../src/proxy/router.js';
import type { ProxyRequest } from '../../src/proxy/request.js';
import { buildUpstreamHeaders } from '../../src/upstream/request-headers.js';
import { buildResponseHeaders, type UpstreamResponseHeaders } from '../../src/upstream/response-headers.js';
import { upstreamPath } from '../../src/upstream/rewrite-path.js';
import { createBalancer } from '../../src/upstream/balancer.js';
import { header, makeRoute, makeTarget } from '../../test/helpers/route.js';

const ITERATIONS = 200_000;
const ROUNDS = 7;

let sink = 0;

function measure(name: string, fn: (i: number) => unknown): { name: string; median: number; best: number } {
  for (let i = 0; i < ITERATIONS; i++) sink ^= keep(fn(i));
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) sink ^= keep(fn(i));
    rounds.push(Number(process.hrtime.bigint() - start) / ITERATIONS);
  }
  rounds.sort((a, b) => a - b);
  return { name, median: rounds[ROUNDS >> 1], best: rounds[0] };
}

/** Folds a result into the sink so the work cannot be optimised away. */
function keep(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (Array.isArray(v)) return v.length;
  if (typeof v === 'number') return v;
  return v === null ? 0 : 1;
}

// 20 routes: 16 exact hosts (some with several path routes), 4 wildcards at the end.
const routes: Route[] = [];
for (let h = 0; h < 8; h++) {
  routes.push(makeRoute({ from: `https://app${h}.corp.example.com`, prefix: '/api/' }));
  routes.push(makeRoute({ from: `https://app${h}.corp.example.com` }));
}
routes.push(makeRoute({ from: 'https://*.dev.example.com', prefix: '/admin' }));
routes.push(makeRoute({ from: 'https://*.dev.example.com', regex: /^(?:\/v[0-9]+\/.*)$/ }));
routes.push(makeRoute({ from: 'https://*.staging.example.com' }));
routes.push(makeRoute({ from: 'https://*.example.com' }));
const router = new Router(routes);

const route = makeRoute({
  from: 'https://app3.corp.example.com',
  to: 'https://backend.internal:8443/base',
  setRequestHeaders: [header('X-Team', 'platform')],
  removeRequestHeaders: ['x-debug'],
  setResponseHeaders: [
    header('X-Frame-Options', 'SAMEORIGIN'),
    header('X-XSS-Protection', '1; mode=block'),
    header('Strict-Transport-Security', 'max-age=31536000; includeSubDomains; preload'),
  ],
  rewriteResponseHeaders: [{ header: 'Location', lheader: 'location', prefix: 'https://backend.internal:8443/', value: '/' }],
});
const target = route.to[0];

// A browser navigation as uWS would hand it over, session cookie included.
const browserHeaders = [
  ['host', 'app3.corp.example.com'],
  ['connection', 'keep-alive'],
  ['sec-ch-ua', '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"'],
  ['sec-ch-ua-mobile', '?0'],
  ['sec-ch-ua-platform', '"Linux"'],
  ['upgrade-insecure-requests', '1'],
  ['user-agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'],
  ['accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'],
  ['sec-fetch-site', 'same-origin'],
  ['sec-fetch-mode', 'navigate'],
  ['sec-fetch-dest', 'document'],
  ['referer', 'https://app3.corp.example.com/dashboard'],
  ['accept-encoding', 'gzip, deflate, br, zstd'],
  ['accept-language', 'en-GB,en;q=0.9'],
  ['cookie', '_ga=GA1.1.123456789.1700000000; theme=dark; _pomerium=eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJhYmMifQ.c2lnbmF0dXJl; csrftoken=Zm9vYmFy'],
].flat();

const req: ProxyRequest = {
  method: 'GET',
  path: '/dashboard/reports',
  query: 'page=2&sort=desc',
  host: 'app3.corp.example.com',
  port: null,
  headers: browserHeaders,
  remoteAddress: '203.0.113.7',
  secure: true,
  requestId: '8f0c9a2e-5b1d-4c3e-9f7a-1b2c3d4e5f60',
};
const opts = { cookieName: '_pomerium', xffNumTrustedHops: 0, skipXffAppend: false, claimHeaderNames: new Set<string>() };

// What undici hands over for a typical HTML response.
const upstream: UpstreamResponseHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'content-length': '5123',
  date: 'Mon, 01 Jan 2024 00:00:00 GMT',
  connection: 'keep-alive',
  'keep-alive': 'timeout=5',
  'cache-control': 'no-cache',
  etag: 'W/"1403-abc"',
  vary: 'Accept-Encoding',
  'set-cookie': ['session_app=abc; Path=/; HttpOnly; Secure', 'prefs=1; Path=/'],
  location: 'https://backend.internal:8443/next',
};

const regexRoute = makeRoute({ regexRewrite: { pattern: /^\/service\/([^/]+)(\/.*)$/, substitution: '\\2/instance/\\1' } });
const hosts = ['app3.corp.example.com', 'app7.corp.example.com', 'x.dev.example.com', 'other.example.com'];
const paths = ['/api/users', '/dashboard', '/v2/items', '/admin/x'];
const balancer = createBalancer([makeTarget('http://a', 3), makeTarget('http://b', 1), makeTarget('http://c', 1)], 'round_robin');

const results = [
  measure('Router.match, exact host (first route)', () => router.match('app3.corp.example.com', 443, '/api/users')),
  measure('Router.match, exact host (second route)', () => router.match('app7.corp.example.com', 443, '/dashboard')),
  measure('Router.match, wildcard (regex path, 2nd)', () => router.match('x.dev.example.com', 443, '/v2/items')),
  measure('Router.match, wildcard (last of 4)', () => router.match('other.example.com', 443, '/')),
  measure('Router.match, mixed hosts and paths', (i) => router.match(hosts[i & 3], 443, paths[(i >> 2) & 3])),
  measure('buildUpstreamHeaders, browser, 15 headers', () => buildUpstreamHeaders(req, route, target, opts)),
  measure('buildResponseHeaders, 10 headers', () => buildResponseHeaders(upstream, route, req.requestId)),
  measure('upstreamPath, to-path prefix rewrite', () => upstreamPath('/dashboard/reports', route, target)),
  measure('upstreamPath, regex rewrite', () => upstreamPath('/service/svc1/some/path', regexRoute, regexRoute.to[0])),
  measure('upstreamPath, no rewrite', () => upstreamPath('/api/users', routes[0], routes[0].to[0])),
  measure('balancer.pick, round robin 3,1,1', () => balancer.pick()),
];

const width = Math.max(...results.map((r) => r.name.length));
console.log(`${'case'.padEnd(width)}  ${'median ns/op'.padStart(12)}  ${'best ns/op'.padStart(10)}`);
for (const r of results) {
  console.log(`${r.name.padEnd(width)}  ${r.median.toFixed(1).padStart(12)}  ${r.best.toFixed(1).padStart(10)}`);
}
console.log(`(${ITERATIONS} iterations × ${ROUNDS} rounds, node ${process.version}; sink ${sink & 1})`);

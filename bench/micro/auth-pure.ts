// Per-request cost of authentication's pure building blocks. Run by hand
// after a build:
//   node dist/bench/micro/auth-pure.js
// Each case runs warm-up iterations first (so the JIT has settled), then
// several timed rounds; the table shows the median and best round in ns/op.
// "miss" cases cycle through 4× the cache's capacity of distinct valid
// values, so every call verifies from scratch and then caches.
import { AuthKeys } from '../../src/authenticate/keys.js';
import { readCookies } from '../../src/authenticate/cookies.js';
import { wantsLoginRedirect } from '../../src/authenticate/login-response.js';
import { resolveRedirect } from '../../src/authenticate/redirect-target.js';
import { SessionHandles } from '../../src/authenticate/session-handle.js';
import { SessionJwts } from '../../src/authenticate/session-jwt.js';
import { signUrl, verifySignedUrl } from '../../src/authenticate/signed-url.js';
import { open, seal } from '../../src/crypto/aead.js';
import { randomId } from '../../src/crypto/random.js';
import { measure, ROUNDS, sinkBit } from './measure.js';

const CACHE = 50_000;
const DISTINCT = 4 * CACHE;

const keys = new AuthKeys(Buffer.alloc(32, 1), Buffer.alloc(32, 2));
const NOW = Date.now();

const handles = new SessionHandles(keys.sessionHandle, CACHE);
const handle = handles.issue(randomId());
const manyHandles = Array.from({ length: DISTINCT }, () => handles.issue(randomId()));
const badHandle = handle.slice(0, -2) + (handle.endsWith('AA') ? 'BB' : 'AA');

const jwts = new SessionJwts(keys.sessionJwt, CACHE);
const subject = { userId: 'CiQ5OGQ4YjQ1Ny1lMGI2LTRhOGQtOTk0Yi1hYjJiNTc4NmU2NjYSBWxvY2Fs', issuer: 'auth.corp.example.com', audience: 'app3.corp.example.com' };
const jwt = jwts.issue({ ...subject, sessionId: randomId() }, NOW);
const manyJwts = Array.from({ length: DISTINCT }, () => jwts.issue({ ...subject, sessionId: randomId() }, NOW));

const signInUrl = signUrl(
  new URL('https://auth.corp.example.com/.pomerium/sign_in?pomerium_redirect_uri=https%3A%2F%2Fapp3.corp.example.com%2Fdashboard%2Freports%3Fpage%3D2&pomerium_idp_id=Bm9RzVvRHTfi4jsQTMq6yjhnsH8ncv4Y1hy2f4cyFUq5'),
  keys.urlSigning,
  NOW,
);
const signInHref = signInUrl.href;

// A session handed across domains: roughly the size the callback seals.
const plaintext = JSON.stringify({ sessionId: randomId(), userId: subject.userId, audience: subject.audience, redirect: 'https://app3.corp.example.com/dashboard/reports?page=2' });
const sealed = seal(keys.callbackSeal, plaintext, 'callback|app3.corp.example.com');
const openKeys = [keys.callbackSeal];

const allowed = new Set(['app3.corp.example.com', 'auth.corp.example.com']);
const isAllowedHost = (host: string): boolean => allowed.has(host);

const browserHeaders = [
  ['host', 'app3.corp.example.com'],
  ['connection', 'keep-alive'],
  ['upgrade-insecure-requests', '1'],
  ['user-agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'],
  ['accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7'],
  ['sec-fetch-site', 'same-origin'],
  ['sec-fetch-mode', 'navigate'],
  ['sec-fetch-dest', 'document'],
  ['accept-encoding', 'gzip, deflate, br, zstd'],
  ['accept-language', 'en-GB,en;q=0.9'],
  ['cookie', `_ga=GA1.1.123456789.1700000000; theme=dark; _pomerium=${handle}; csrftoken=Zm9vYmFy`],
].flat();
const fetchHeaders = [
  ['host', 'app3.corp.example.com'],
  ['accept', '*/*'],
  ['sec-fetch-site', 'same-origin'],
  ['sec-fetch-mode', 'cors'],
  ['sec-fetch-dest', 'empty'],
].flat();

const axiosHeaders = [
  ['host', 'app3.corp.example.com'],
  ['accept', 'application/json, text/plain, */*'],
  ['user-agent', 'axios/1.7.2'],
].flat();

const fast = 200_000;
const slow = 50_000;
const results = [
  measure('SessionHandles.verify, cache hit', fast, () => handles.verify(handle)),
  measure('readCookies + SessionHandles.verify, hit', fast, () => handles.verify(readCookies(browserHeaders, '_pomerium')[0])),
  measure('SessionHandles.verify, cache miss', DISTINCT, (i) => handles.verify(manyHandles[i])),
  measure('SessionHandles.verify, wrong mac', slow, () => handles.verify(badHandle)),
  measure('SessionJwts.verify, cache hit', fast, () => jwts.verify(jwt)),
  measure('SessionJwts.verify, cache miss', DISTINCT, (i) => jwts.verify(manyJwts[i])),
  measure('readCookies, browser Cookie header', fast, () => readCookies(browserHeaders, '_pomerium')),
  measure('verifySignedUrl (URL already parsed)', slow, () => verifySignedUrl(signInUrl, keys.urlSigning, NOW)),
  measure('verifySignedUrl incl. new URL(href)', slow, () => verifySignedUrl(new URL(signInHref), keys.urlSigning, NOW)),
  measure(`seal, ${plaintext.length} B plaintext`, slow, () => seal(keys.callbackSeal, plaintext, 'callback|app3.corp.example.com')),
  measure(`open, ${sealed.length}-char token`, slow, () => open(openKeys, sealed, 'callback|app3.corp.example.com')),
  measure('resolveRedirect, allowed URL', fast, () => resolveRedirect('https://app3.corp.example.com/dashboard/reports?page=2', isAllowedHost)),
  measure('resolveRedirect, //evil (refused early)', fast, () => resolveRedirect('//evil.example.net/', isAllowedHost)),
  measure('wantsLoginRedirect, Chrome navigation', fast, () => wantsLoginRedirect('GET', browserHeaders)),
  measure('wantsLoginRedirect, fetch()', fast, () => wantsLoginRedirect('GET', fetchHeaders)),
  measure('wantsLoginRedirect, axios (full negotiation)', fast, () => wantsLoginRedirect('GET', axiosHeaders)),
];

const width = Math.max(...results.map((r) => r.name.length));
console.log(`${'case'.padEnd(width)}  ${'median ns/op'.padStart(12)}  ${'best ns/op'.padStart(10)}`);
for (const r of results) {
  console.log(`${r.name.padEnd(width)}  ${r.median.toFixed(1).padStart(12)}  ${r.best.toFixed(1).padStart(10)}`);
}
console.log(`(${ROUNDS} timed rounds per case, node ${process.version}; sink ${sinkBit()})`);

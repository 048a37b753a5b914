// Requests with ambiguous framing or forbidden bytes are refused before
// anything reaches an upstream. Sent on raw sockets because node:http will
// not send them. Where uWS v20.30 itself drops the connection without an
// answer (it holds malformed input until its ~10 s idle timeout), "closed"
// is accepted and reported; where the request reaches the JavaScript
// handler, a 400 is required.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { headerValue, RawConnection, rawRequest, request, type RawOutcome } from '../helpers/client.js';
import { baseConfig, publicRoute, startPostern, type Postern } from '../helpers/postern.js';
import { startEcho, type Upstream } from '../helpers/upstreams.js';
import { sleep } from '../helpers/wait.js';

/** What a case must get: a 400, a 400 or a dropped connection, or a dropped connection (uWS refuses it itself). */
type Expect = '400' | '400-or-closed';

interface Case {
  readonly name: string;
  /** The request head (and body); `HOST` is replaced by the routed authority. */
  readonly raw: string;
  readonly expect: Expect;
}

const CASES: readonly Case[] = [
  { name: 'duplicate Host (same value)', raw: 'GET /dup-host HTTP/1.1\r\nHost: HOST\r\nHost: HOST\r\n\r\n', expect: '400' },
  { name: 'duplicate Host (different values)', raw: 'GET /dup-host2 HTTP/1.1\r\nHost: HOST\r\nHost: other.localhost\r\n\r\n', expect: '400' },
  { name: 'duplicate Content-Length (same value)', raw: 'POST /dup-cl HTTP/1.1\r\nHost: HOST\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nabcde', expect: '400' },
  { name: 'duplicate Content-Length (different values)', raw: 'POST /dup-cl2 HTTP/1.1\r\nHost: HOST\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde', expect: '400' },
  {
    name: 'Content-Length with Transfer-Encoding',
    raw: 'POST /cl-te HTTP/1.1\r\nHost: HOST\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    expect: '400-or-closed',
  },
  {
    name: 'Transfer-Encoding twice',
    raw: 'POST /te-te HTTP/1.1\r\nHost: HOST\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    expect: '400-or-closed',
  },
  { name: 'Transfer-Encoding other than chunked', raw: 'POST /te-gzip HTTP/1.1\r\nHost: HOST\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n', expect: '400-or-closed' },
  { name: '%2F in the path', raw: 'GET /a%2Fb HTTP/1.1\r\nHost: HOST\r\n\r\n', expect: '400' },
  { name: '%2f (lower case) in the path', raw: 'GET /a%2fb HTTP/1.1\r\nHost: HOST\r\n\r\n', expect: '400' },
  { name: '%5C in the path', raw: 'GET /a%5Cb HTTP/1.1\r\nHost: HOST\r\n\r\n', expect: '400' },
  { name: '%5c (lower case) in the path', raw: 'GET /a%5cb HTTP/1.1\r\nHost: HOST\r\n\r\n', expect: '400' },
  { name: 'a header name with an underscore', raw: 'GET /underscore HTTP/1.1\r\nHost: HOST\r\nX_Forwarded_User: admin\r\n\r\n', expect: '400-or-closed' },
  { name: 'a NUL byte in a header value', raw: 'GET /nul HTTP/1.1\r\nHost: HOST\r\nX-Value: a\u0000b\r\n\r\n', expect: '400-or-closed' },
  { name: 'a control character in a header value', raw: 'GET /ctl HTTP/1.1\r\nHost: HOST\r\nX-Value: a\u0001b\r\n\r\n', expect: '400-or-closed' },
  { name: 'no Host header', raw: 'GET /no-host HTTP/1.1\r\nX-Value: 1\r\n\r\n', expect: '400-or-closed' },
  { name: 'a Host with an invalid port', raw: 'GET /bad-port HTTP/1.1\r\nHost: app.localhost:notaport\r\n\r\n', expect: '400' },
];

// uWS closes connections it will not parse after its idle timeout (about 12 s).
const NO_ANSWER_WAIT_MS = 20_000;

let target: Upstream;
let live: Upstream;
let proxy: Postern;

before(async () => {
  target = await startEcho('target');
  live = await startEcho('live');
  proxy = await startPostern(baseConfig([publicRoute('http://app.localhost', target.origin), publicRoute('http://live.localhost', live.origin)]));
});

after(async () => {
  await proxy?.stop();
  await target?.close();
  await live?.close();
});

function describeOutcome(o: RawOutcome): string {
  if (o.kind === 'response') return `answered ${o.status}`;
  return `${o.kind} without answer after ${o.ms} ms (received ${JSON.stringify(o.received.toString('latin1'))})`;
}

// Every case may wait for the uWS idle timeout, so they run side by side.
describe('refused requests', { concurrency: true }, () => {
  for (const c of CASES) {
    test(`${c.name}: ${c.expect === '400' ? '400' : '400 or closed'}, and the upstream sees nothing`, async (t) => {
      const raw = c.raw.replaceAll('HOST', `app.localhost:${proxy.port}`);
      const outcome = await rawRequest(proxy.port, raw, { timeoutMs: NO_ANSWER_WAIT_MS });
      t.diagnostic(describeOutcome(outcome));
      assert.notEqual(outcome.kind, 'timeout', `the connection was held open with no answer for ${NO_ANSWER_WAIT_MS} ms`);
      if (c.expect === '400') {
        assert.equal(outcome.kind, 'response', describeOutcome(outcome));
      }
      if (outcome.kind === 'response') {
        assert.equal(outcome.status, 400, describeOutcome(outcome));
        assert.equal(headerValue(outcome.headers, 'x-pomerium-intercepted-response'), 'true');
        assert.ok(headerValue(outcome.headers, 'x-request-id'), 'a 400 carries x-request-id');
      }
      const path = /^[A-Z]+ (\S+)/.exec(c.raw)![1]!;
      assert.deepEqual(
        target.requests.filter((r) => r.url.startsWith(path)).map((r) => `${r.method} ${r.url}`),
        [],
        'the upstream received the refused request',
      );
    });
  }
});

// A refusal ends the connection: a request pipelined behind a refused one
// in the same packet must not be forwarded, nor answered. With differing Content-Length
// values this is request smuggling: a front end that believes the last
// length sees one request where a proxy honouring the first would run two.
describe('requests pipelined behind a refusal', () => {
  const PIPELINED: readonly { name: string; first: string }[] = [
    { name: 'differing duplicate Content-Length (smuggling)', first: 'POST /smuggle-cl HTTP/1.1\r\nHost: HOST\r\nContent-Length: 3\r\nContent-Length: 48\r\n\r\nabc' },
    { name: 'duplicate Host', first: 'GET /smuggle-host HTTP/1.1\r\nHost: HOST\r\nHost: other.localhost\r\n\r\n' },
    { name: '%2F in the path', first: 'GET /smuggle%2Fpath HTTP/1.1\r\nHost: HOST\r\n\r\n' },
  ];
  for (const [i, c] of PIPELINED.entries()) {
    test(`after ${c.name}, the request pipelined behind it is not forwarded and the connection closes`, async (t) => {
      const host = `app.localhost:${proxy.port}`;
      const smuggledPath = `/smuggled-${i}`;
      const conn = await RawConnection.open(proxy.port);
      try {
        conn.send(`${c.first.replaceAll('HOST', host)}GET ${smuggledPath} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        // The refusal itself may be answered (400) or the connection dropped; either way nothing may follow it.
        const first = await conn.readResponse({ timeoutMs: 5_000 });
        assert.notEqual(first.kind, 'timeout', describeOutcome(first));
        if (first.kind === 'response') assert.equal(first.status, 400, describeOutcome(first));
        const closed = await conn.waitClosed(2_000);
        const extra = conn.pending.toString('latin1');
        t.diagnostic(`first: ${describeOutcome(first)}; closed=${closed}; after it: ${JSON.stringify(extra.split('\r\n')[0] ?? '')}`);
        await sleep(200);
        assert.equal(
          target.requests.filter((r) => r.url === smuggledPath).length,
          0,
          'the request pipelined behind the refused one reached the upstream',
        );
        assert.equal(extra, '', 'nothing may be answered after the refusal');
        assert.ok(closed, 'the connection stays open after a refusal');
      } finally {
        conn.close();
      }
    });
  }
});

describe('after the refusals', () => {
  test('no refused request ever reached the upstream', () => {
    // Requests pipelined behind a refusal are judged by their own tests above.
    const refused = target.requests.filter((r) => !r.url.startsWith('/smuggled-'));
    assert.deepEqual(refused.map((r) => `${r.method} ${r.url}`), []);
  });

  test('the proxy still serves ordinary requests', async () => {
    const res = await request(proxy.url('live.localhost', '/ok'));
    assert.equal(res.status, 200);
  });
});

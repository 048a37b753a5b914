// Message framing through the proxy, read byte for byte on one raw
// connection: HEAD keeps Content-Length without a body, 204/304 carry no
// body, chunked and known-length responses arrive whole, and the keep-alive
// connection stays usable after each of them. Request side: Expect:
// 100-continue, chunked uploads and GET with a body.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { headerValue, headerValues, RawConnection, type RawOutcome, type RawResponse } from '../helpers/client.js';
import { baseConfig, publicRoute, startPostern, type Postern } from '../helpers/postern.js';
import { startEcho, startFixed, type EchoReply, type Upstream } from '../helpers/upstreams.js';

const BIG = Buffer.alloc(256 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789');

let echo: Upstream;
let fixed: Upstream;
let proxy: Postern;
let fixedHost: string;
let echoHost: string;

before(async () => {
  echo = await startEcho();
  fixed = await startFixed((rec) => {
    switch (rec.url) {
      case '/sized':
        return { status: 200, headers: [['Content-Type', 'text/plain']], body: 'hello world' };
      case '/no-content':
        return { status: 204, headers: [['X-After', 'nothing']] };
      case '/etag':
        return rec.headers['if-none-match'] === '"v1"'
          ? { status: 304, headers: [['ETag', '"v1"']] }
          : { status: 200, headers: [['ETag', '"v1"']], body: 'fresh' };
      case '/chunked':
        return { status: 200, headers: [['Content-Type', 'text/plain']], body: 'first half|second half', chunked: true };
      case '/big':
        return { status: 200, headers: [['Content-Type', 'application/octet-stream']], body: BIG };
      default:
        return { status: 404, body: 'unknown fixture path' };
    }
  });
  proxy = await startPostern(baseConfig([publicRoute('http://fixed.localhost', fixed.origin), publicRoute('http://echo.localhost', echo.origin)]));
  fixedHost = `fixed.localhost:${proxy.port}`;
  echoHost = `echo.localhost:${proxy.port}`;
});

after(async () => {
  await proxy?.stop();
  await echo?.close();
  await fixed?.close();
});

function asResponse(outcome: RawOutcome, what: string): RawResponse {
  if (outcome.kind !== 'response') {
    assert.fail(`${what}: no response (${outcome.kind} after ${outcome.ms} ms, received ${JSON.stringify(outcome.received.toString('latin1'))})`);
  }
  return outcome;
}

/** After a bodiless answer, nothing more may arrive before the next request. */
async function assertNothingPending(conn: RawConnection, what: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(conn.pending.length, 0, `${what}: stray bytes after the response: ${JSON.stringify(conn.pending.toString('latin1'))}`);
  assert.equal(conn.closed, false, `${what}: the connection was closed`);
}

async function assertStillUsable(conn: RawConnection): Promise<void> {
  conn.send(`GET /sized HTTP/1.1\r\nHost: ${fixedHost}\r\n\r\n`);
  const next = asResponse(await conn.readResponse(), 'follow-up GET on the same connection');
  assert.equal(next.status, 200);
  assert.equal(next.body.toString(), 'hello world');
}

describe('responses without a body', () => {
  test('HEAD keeps the upstream Content-Length, sends no body, and the connection serves the next request', async () => {
    const conn = await RawConnection.open(proxy.port);
    try {
      conn.send(`HEAD /sized HTTP/1.1\r\nHost: ${fixedHost}\r\n\r\n`);
      const head = asResponse(await conn.readResponse({ bodiless: true }), 'HEAD');
      assert.equal(head.status, 200);
      assert.deepEqual(headerValues(head.headers, 'content-length'), ['11']);
      await assertNothingPending(conn, 'HEAD');
      await assertStillUsable(conn);
    } finally {
      conn.close();
    }
  });

  test('204 has no body and no Content-Length, and keep-alive survives', async () => {
    const conn = await RawConnection.open(proxy.port);
    try {
      conn.send(`GET /no-content HTTP/1.1\r\nHost: ${fixedHost}\r\n\r\n`);
      const res = asResponse(await conn.readResponse(), '204');
      assert.equal(res.status, 204);
      assert.equal(headerValue(res.headers, 'x-after'), 'nothing');
      assert.equal(headerValue(res.headers, 'content-length'), undefined);
      assert.equal(headerValue(res.headers, 'transfer-encoding'), undefined);
      await assertNothingPending(conn, '204');
      await assertStillUsable(conn);
    } finally {
      conn.close();
    }
  });

  test('304 has no body, keeps ETag, and keep-alive survives', async () => {
    const conn = await RawConnection.open(proxy.port);
    try {
      conn.send(`GET /etag HTTP/1.1\r\nHost: ${fixedHost}\r\nIf-None-Match: "v1"\r\n\r\n`);
      const res = asResponse(await conn.readResponse(), '304');
      assert.equal(res.status, 304);
      assert.equal(headerValue(res.headers, 'etag'), '"v1"');
      assert.equal(headerValue(res.headers, 'transfer-encoding'), undefined);
      await assertNothingPending(conn, '304');
      await assertStillUsable(conn);
    } finally {
      conn.close();
    }
  });
});

describe('responses with a body', () => {
  test('a chunked upstream response arrives whole, framed once', async () => {
    const conn = await RawConnection.open(proxy.port);
    try {
      conn.send(`GET /chunked HTTP/1.1\r\nHost: ${fixedHost}\r\n\r\n`);
      const res = asResponse(await conn.readResponse(), 'chunked');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'first half|second half');
      const framing = headerValues(res.headers, 'content-length').length + headerValues(res.headers, 'transfer-encoding').length;
      assert.equal(framing, 1, 'exactly one of Content-Length / Transfer-Encoding');
      await assertStillUsable(conn);
    } finally {
      conn.close();
    }
  });

  test('a known-length response keeps its single Content-Length and exact body', async () => {
    const conn = await RawConnection.open(proxy.port);
    try {
      conn.send(`GET /big HTTP/1.1\r\nHost: ${fixedHost}\r\n\r\n`);
      const res = asResponse(await conn.readResponse(), 'known length');
      assert.equal(res.status, 200);
      assert.deepEqual(headerValues(res.headers, 'content-length'), [String(BIG.length)]);
      assert.equal(headerValue(res.headers, 'transfer-encoding'), undefined);
      assert.ok(res.body.equals(BIG), 'the body differs from what the upstream sent');
      await assertStillUsable(conn);
    } finally {
      conn.close();
    }
  });
});

describe('request bodies', () => {
  test('Expect: 100-continue gets an interim 100, the body reaches the upstream, and Expect does not', async () => {
    const conn = await RawConnection.open(proxy.port);
    try {
      conn.send(`POST /upload HTTP/1.1\r\nHost: ${echoHost}\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n`);
      const gotContinue = await conn.waitForText('HTTP/1.1 100', 3_000);
      assert.ok(gotContinue, 'no 100 Continue within 3 s');
      conn.send('hello there');
      const res = asResponse(await conn.readResponse(), '100-continue upload');
      assert.equal(res.status, 200);
      const reply = JSON.parse(res.body.toString()) as EchoReply;
      assert.equal(reply.method, 'POST');
      assert.equal(reply.body, 'hello there');
      assert.equal(reply.headers['expect'], undefined);
    } finally {
      conn.close();
    }
  });

  test('a chunked request body reaches the upstream whole', async () => {
    const conn = await RawConnection.open(proxy.port);
    try {
      conn.send(`POST /chunked-upload HTTP/1.1\r\nHost: ${echoHost}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`);
      const res = asResponse(await conn.readResponse(), 'chunked upload');
      assert.equal(res.status, 200);
      const reply = JSON.parse(res.body.toString()) as EchoReply;
      assert.equal(reply.body, 'hello world');
    } finally {
      conn.close();
    }
  });

  test('a GET with a body forwards the body', async () => {
    const conn = await RawConnection.open(proxy.port);
    try {
      conn.send(`GET /with-body HTTP/1.1\r\nHost: ${echoHost}\r\nContent-Length: 5\r\n\r\nhello`);
      const res = asResponse(await conn.readResponse(), 'GET with body');
      assert.equal(res.status, 200);
      const reply = JSON.parse(res.body.toString()) as EchoReply;
      assert.equal(reply.method, 'GET');
      assert.equal(reply.body, 'hello');
      assert.equal(reply.headers['content-length'], '5');
    } finally {
      conn.close();
    }
  });

  test('several requests in a row on one connection each get their own answer', async () => {
    const conn = await RawConnection.open(proxy.port);
    try {
      for (let i = 0; i < 5; i++) {
        conn.send(`POST /seq/${i} HTTP/1.1\r\nHost: ${echoHost}\r\nContent-Length: ${String(i).length}\r\n\r\n${i}`);
        const res = asResponse(await conn.readResponse(), `request ${i}`);
        const reply = JSON.parse(res.body.toString()) as EchoReply;
        assert.equal(reply.url, `/seq/${i}`);
        assert.equal(reply.body, String(i));
      }
    } finally {
      conn.close();
    }
  });
});

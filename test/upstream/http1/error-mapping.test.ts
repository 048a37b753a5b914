// The pool's error codes against the answers the client gets
// (src/upstream/upstream-errors.ts) and the one retry the exchange allows.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { Http1Error, type Http1ErrorCode } from '../../../src/upstream/http1/errors.js';
import { isRetryableBeforeResponse, upstreamErrorSpec } from '../../../src/upstream/upstream-errors.js';

function withCode(code: string): Error {
  return Object.assign(new Error(code), { code });
}

describe('upstreamErrorSpec', () => {
  const cases: [code: Http1ErrorCode | string, status: number][] = [
    ['H1_CONNECT_TIMEOUT', 504],
    ['H1_HEADERS_TIMEOUT', 504],
    ['H1_BODY_TIMEOUT', 504],
    ['ETIMEDOUT', 504],
    ['H1_POOL_CLOSED', 503],
    ['H1_SOCKET_CLOSED', 502],
    ['H1_REUSED_CONNECTION_CLOSED', 502],
    ['H1_REQUEST_BODY', 502],
    ['H1_INVALID_REQUEST', 502],
    ['ECONNREFUSED', 502],
    ['ECONNRESET', 502],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 502],
  ];
  for (const [code, status] of cases) {
    it(`${code} → ${status}`, () => {
      const err = code.startsWith('H1_') ? new Http1Error(code as Http1ErrorCode, 'x') : withCode(code);
      assert.equal(upstreamErrorSpec(err).status, status);
    });
  }

  it('an invalid response is a 502 naming the protocol', () => {
    const spec = upstreamErrorSpec(new Http1Error('H1_INVALID_RESPONSE', 'bare LF'));
    assert.equal(spec.status, 502);
    assert.equal(spec.code, 'PST_UPSTREAM_PROTOCOL');
  });
});

describe('isRetryableBeforeResponse', () => {
  const reused = new Http1Error('H1_REUSED_CONNECTION_CLOSED', 'x');
  for (const method of ['GET', 'HEAD', 'OPTIONS']) {
    it(`a ${method} without body on a reused connection closed before any byte is retried`, () => {
      assert.equal(isRetryableBeforeResponse(reused, method, null), true);
    });
  }
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    it(`a ${method} is not`, () => assert.equal(isRetryableBeforeResponse(reused, method, null), false));
  }
  it('a request with a body is not', () => {
    assert.equal(isRetryableBeforeResponse(reused, 'GET', Readable.from([])), false);
  });
  for (const code of ['H1_SOCKET_CLOSED', 'H1_HEADERS_TIMEOUT', 'H1_INVALID_RESPONSE']) {
    it(`${code} (a fresh connection, or a response begun) is not`, () => {
      assert.equal(isRetryableBeforeResponse(withCode(code), 'GET', null), false);
    });
  }
});

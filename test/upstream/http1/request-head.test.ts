import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { requestHead } from '../../../src/upstream/http1/request-head.js';
import { Http1Error } from '../../../src/upstream/http1/errors.js';

function rejects(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => err instanceof Http1Error && err.code === 'H1_INVALID_REQUEST');
}

describe('requestHead', () => {
  it('writes the request line and the fields in order, ending with the empty line', () => {
    const head = requestHead('GET', '/a?b=c', ['host', 'up.test', 'x-a', '1', 'x-a', '2'], false);
    assert.equal(head.text, 'GET /a?b=c HTTP/1.1\r\nhost: up.test\r\nx-a: 1\r\nx-a: 2\r\n\r\n');
    assert.equal(head.contentLength, -1);
  });

  it('keeps a Content-Length that frames the body', () => {
    const head = requestHead('PUT', '/', ['host', 'x', 'content-length', '12'], true);
    assert.equal(head.text, 'PUT / HTTP/1.1\r\nhost: x\r\ncontent-length: 12\r\n\r\n');
    assert.equal(head.contentLength, 12);
  });

  it('sends a body without Content-Length chunked, replacing any Transfer-Encoding it was given', () => {
    const head = requestHead('POST', '/', ['host', 'x', 'transfer-encoding', 'gzip, chunked'], true);
    assert.equal(head.text, 'POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n');
    assert.equal(head.contentLength, -1);
  });

  it('a request without body keeps Content-Length: 0', () => {
    assert.equal(requestHead('POST', '/', ['content-length', '0'], false).text, 'POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n');
  });

  for (const [name, call] of [
    ['a method that is not a token', () => requestHead('GET /x', '/', [], false)],
    ['an empty target', () => requestHead('GET', '', [], false)],
    ['a space in the target', () => requestHead('GET', '/a b', [], false)],
    ['a CR in the target', () => requestHead('GET', '/a\r\nx: y', [], false)],
    ['a field name that is not a token', () => requestHead('GET', '/', ['x a', '1'], false)],
    ['an LF in a value', () => requestHead('GET', '/', ['x-a', '1\nx-b: 2'], false)],
    ['a NUL in a value', () => requestHead('GET', '/', ['x-a', '1\0'], false)],
    ['two Content-Lengths', () => requestHead('POST', '/', ['content-length', '1', 'content-length', '1'], true)],
    ['a Content-Length that is not a number', () => requestHead('POST', '/', ['content-length', '1x'], true)],
    ['a Content-Length above 0 without a body', () => requestHead('POST', '/', ['content-length', '5'], false)],
  ] as const) {
    it(`rejects ${name}`, () => rejects(call));
  }

  it('no value can add a line of its own: accepted heads have exactly one CRLF per field', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('x-a', 'x-b', 'host'), fc.string({ maxLength: 12 })), { maxLength: 6 }), (fields) => {
        let head: string;
        try {
          head = requestHead('GET', '/', fields.flat(), false).text;
        } catch (err) {
          assert.ok(err instanceof Http1Error);
          assert.ok(fields.some(([, v]) => /[\r\n\0]/.test(v)));
          return;
        }
        assert.equal(head.split('\r\n').length, fields.length + 3);
        assert.ok(!/[\r\n\0]/.test(head.replaceAll('\r\n', '')));
      }),
    );
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Http1Error } from '../../../src/upstream/http1/errors.js';
import { MAX_HEAD_BYTES, ResponseParser, type ResponseHeaders, type ResponseSink } from '../../../src/upstream/http1/parser.js';

interface Outcome {
  heads: { status: number; reason: string; headers: ResponseHeaders; keepAlive: boolean }[];
  body: string;
  trailers: ResponseHeaders | null;
  error: string | null;
  /** Bytes after the end of the response. */
  leftover: number;
}

/** Feeds `pieces` to a fresh parser (then EOF when `eof`), the way a connection does. */
function parse(pieces: readonly (string | Buffer)[], options: { headOnly?: boolean; eof?: boolean } = {}): Outcome {
  const outcome: Outcome = { heads: [], body: '', trailers: null, error: null, leftover: 0 };
  const chunks: Buffer[] = [];
  const sink: ResponseSink = {
    onHead: (head) => outcome.heads.push({ status: head.status, reason: head.reason, headers: { ...head.headers }, keepAlive: head.keepAlive }),
    // Copied: the parser hands out views of its input.
    onBody: (chunk) => chunks.push(Buffer.from(chunk)),
    onEnd: (trailers) => {
      outcome.trailers = { ...trailers };
    },
  };
  const parser = new ResponseParser(sink);
  parser.expect(options.headOnly ?? false);
  try {
    for (const piece of pieces) {
      const data = typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece;
      const consumed = parser.execute(data);
      outcome.leftover += data.length - consumed;
    }
    if (options.eof) parser.finish();
  } catch (err) {
    assert.ok(err instanceof Http1Error && err.code === 'H1_INVALID_RESPONSE', `unexpected error: ${String(err)}`);
    outcome.error = err.message;
  }
  outcome.body = Buffer.concat(chunks).toString('latin1');
  return outcome;
}

function splitAt(text: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let from = 0;
  for (const p of points) {
    out.push(text.slice(from, p));
    from = p;
  }
  out.push(text.slice(from));
  return out;
}

describe('ResponseParser: framing', () => {
  it('reads a Content-Length body and ends there, leaving what follows', () => {
    const o = parse(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhelloEXTRA']);
    assert.equal(o.error, null);
    assert.equal(o.heads.length, 1);
    assert.equal(o.heads[0]!.status, 200);
    assert.equal(o.heads[0]!.reason, 'OK');
    assert.deepEqual(o.heads[0]!.headers, { 'content-length': '5', 'content-type': 'text/plain' });
    assert.equal(o.body, 'hello');
    assert.deepEqual(o.trailers, {});
    assert.equal(o.leftover, 5);
  });

  it('ends a Content-Length: 0 response at the head', () => {
    const o = parse(['HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n']);
    assert.equal(o.body, '');
    assert.deepEqual(o.trailers, {});
  });

  it('reads chunked bodies with extensions and trailers', () => {
    const o = parse([
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
      '5;name=value;flag\r\nhello\r\n',
      '6 ; q="a \\"quoted\\" one"\r\n world\r\n',
      '0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n',
    ]);
    assert.equal(o.error, null);
    assert.equal(o.body, 'hello world');
    assert.deepEqual(o.trailers, { 'x-checksum': 'abc', 'x-other': '1' });
    assert.equal(o.leftover, 0);
  });

  it('accepts upper-case hex sizes and leading zeros', () => {
    const body = 'x'.repeat(0x1a);
    const o = parse([`HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n001A\r\n${body}\r\n0\r\n\r\n`]);
    assert.equal(o.error, null);
    assert.equal(o.body, body);
  });

  it('reads a body without framing until the connection closes, and never keeps that connection', () => {
    const open = parse(['HTTP/1.1 200 OK\r\n\r\nsome', ' bytes']);
    assert.equal(open.trailers, null, 'not ended before EOF');
    const o = parse(['HTTP/1.1 200 OK\r\n\r\nsome', ' bytes'], { eof: true });
    assert.equal(o.error, null);
    assert.equal(o.body, 'some bytes');
    assert.equal(o.heads[0]!.keepAlive, false);
    assert.deepEqual(o.trailers, {});
  });

  for (const [name, input, headOnly] of [
    ['HEAD', 'HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n', true],
    ['HEAD with chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', true],
    ['204', 'HTTP/1.1 204 No Content\r\n\r\n', false],
    ['304', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 42\r\nETag: "x"\r\n\r\n', false],
  ] as const) {
    it(`a ${name} response has no body and ends at its head`, () => {
      const o = parse([input], { headOnly });
      assert.equal(o.error, null);
      assert.equal(o.body, '');
      assert.deepEqual(o.trailers, {});
      assert.equal(o.heads[0]!.keepAlive, true);
    });
  }

  it('skips interim 1xx responses and reports only the final one', () => {
    const o = parse(['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok']);
    assert.equal(o.error, null);
    assert.deepEqual(
      o.heads.map((h) => h.status),
      [201],
    );
    assert.equal(o.body, 'ok');
  });

  it('keeps repeated fields as arrays, in order, with names lower-cased and OWS trimmed', () => {
    const o = parse(['HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie:b=2 \r\nSET-COOKIE: \tc=3\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n']);
    assert.deepEqual(o.heads[0]!.headers['set-cookie'], ['a=1', 'b=2', 'c=3']);
    assert.equal(o.heads[0]!.headers['x-empty'], '');
  });

  it('accepts a status line without a reason phrase, and obs-text in values', () => {
    const o = parse(['HTTP/1.1 200\r\nX-Latin: caf\xe9\r\nContent-Length: 0\r\n\r\n']);
    assert.equal(o.error, null);
    assert.equal(o.heads[0]!.reason, '');
    assert.equal(o.heads[0]!.headers['x-latin'], 'caf\xe9');
  });

  it('a field named __proto__ is a plain field', () => {
    const o = parse(['HTTP/1.1 200 OK\r\n__proto__: x\r\nContent-Length: 0\r\n\r\n']);
    assert.equal(o.error, null);
    assert.equal(Object.getOwnPropertyDescriptor(o.heads[0]!.headers, '__proto__')?.value, 'x');
  });

  for (const [name, head, keepAlive] of [
    ['HTTP/1.1 by default', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', true],
    ['HTTP/1.1 with Connection: close', 'HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n', false],
    ['HTTP/1.1 with close among other tokens', 'HTTP/1.1 200 OK\r\nConnection: x-foo, close\r\nContent-Length: 0\r\n\r\n', false],
    ['HTTP/1.0 by default', 'HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n', false],
    ['HTTP/1.0 with keep-alive', 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n', true],
  ] as const) {
    it(`keep-alive: ${name} → ${keepAlive}`, () => {
      assert.equal(parse([head]).heads[0]!.keepAlive, keepAlive);
    });
  }
});

describe('ResponseParser: rejects', () => {
  const cases: [name: string, input: string][] = [
    ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 0\r\n\r\n'],
    ['a bare LF ending a field line', 'HTTP/1.1 200 OK\r\nX-A: one\nContent-Length: 0\r\n\r\n'],
    ['a bare LF ending the head', 'HTTP/1.1 200 OK\n\n'],
    ['a bare CR in a value', 'HTTP/1.1 200 OK\r\nX-A: o\rne\r\nContent-Length: 0\r\n\r\n'],
    ['NUL in a value', 'HTTP/1.1 200 OK\r\nX-A: o\0ne\r\nContent-Length: 0\r\n\r\n'],
    ['DEL in a value', 'HTTP/1.1 200 OK\r\nX-A: o\x7fne\r\nContent-Length: 0\r\n\r\n'],
    ['a control byte in the reason', 'HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n'],
    ['whitespace before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n'],
    ['a field line without colon', 'HTTP/1.1 200 OK\r\nnonsense\r\nContent-Length: 0\r\n\r\n'],
    ['a non-token field name', 'HTTP/1.1 200 OK\r\nX(A): 1\r\nContent-Length: 0\r\n\r\n'],
    ['two equal Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok'],
    ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok'],
    ['a Content-Length list', 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok'],
    ['a signed Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok'],
    ['an empty Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\nok'],
    ['a huge Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nok'],
    ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
    ['a coding before chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'],
    ['chunked not last', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n'],
    ['chunked twice', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['identity', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n'],
    ['Transfer-Encoding in HTTP/1.0', 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['conflicting framing even on a 204', 'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n'],
    ['HTTP/2.0', 'HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a lower-case version', 'http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a two-digit status', 'HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a status above 599', 'HTTP/1.1 600 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a status below 100', 'HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n'],
    ['no space after the status', 'HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n'],
    ['leading empty lines', '\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['not HTTP at all', 'SSH-2.0-OpenSSH_9.6\r\n\r\n'],
    ['101 nobody asked for', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'],
    ['a chunk size that is not hex', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n'],
    ['a chunk size with a sign', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n'],
    ['whitespace before a chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n'],
    ['a chunk size too large', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20000000000000\r\n'],
    ['a chunk size line ended by a bare LF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n'],
    ['a chunk without its CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n'],
    ['a malformed chunk extension', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;=x\r\nhello\r\n0\r\n\r\n'],
    ['an unterminated quoted extension', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a="x\r\nhello\r\n0\r\n\r\n'],
    ['obs-fold in trailers', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: 1\r\n 2\r\n\r\n'],
    ['a bad trailer name', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX A: 1\r\n\r\n'],
  ];
  for (const [name, input] of cases) {
    it(name, () => {
      const o = parse([input]);
      assert.notEqual(o.error, null, `accepted: ${JSON.stringify(o)}`);
    });
  }

  it('a head larger than the limit, even before it ends', () => {
    const o = parse([`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}`]);
    assert.match(o.error ?? '', /too large/);
  });

  it('a trailer section larger than the limit', () => {
    const o = parse([`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${'X-A: 1\r\n'.repeat(1000)}\r\n`]);
    assert.match(o.error ?? '', /too long/);
  });

  for (const [name, input] of [
    ['a Content-Length body', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort'],
    ['a chunked body', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel'],
    ['a chunked body missing its last chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'],
    ['a head', 'HTTP/1.1 200 OK\r\nContent-Len'],
  ] as const) {
    it(`EOF inside ${name}`, () => {
      const o = parse([input], { eof: true });
      assert.match(o.error ?? '', /closed before the response ended/);
    });
  }
});

// Generated valid responses ------------------------------------------------

const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/).filter((n) => !['content-length', 'transfer-encoding', 'connection'].includes(n));
const fieldValue = fc.stringMatching(/^[!-~]([ !-~]{0,18}[!-~])?$/);
const bodyBytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString('latin1'));
const extension = fc.oneof(fc.constant(''), fc.constant(';a=b'), fc.constant(' ; n="q \\" v"'), fc.constant(';flag'));

interface Generated {
  text: string;
  body: string;
  headers: [string, string][];
  trailers: [string, string][];
  status: number;
  eof: boolean;
}

const response: fc.Arbitrary<Generated> = fc
  .record({
    status: fc.constantFrom(200, 201, 404, 500),
    headers: fc.array(fc.tuple(token, fieldValue), { maxLength: 5 }),
    body: bodyBytes,
    framing: fc.constantFrom('length', 'chunked', 'close'),
    interim: fc.boolean(),
    cuts: fc.array(fc.nat(), { maxLength: 8 }),
    ext: extension,
    trailers: fc.array(fc.tuple(token, fieldValue), { maxLength: 3 }),
  })
  .map(({ status, headers, body, framing, interim, cuts, ext, trailers }) => {
    let text = interim ? 'HTTP/1.1 100 Continue\r\n\r\n' : '';
    text += `HTTP/1.1 ${status} Reason\r\n`;
    for (const [n, v] of headers) text += `${n}: ${v}\r\n`;
    if (framing === 'length') text += `content-length: ${body.length}\r\n\r\n${body}`;
    else if (framing === 'close') text += `\r\n${body}`;
    else {
      text += 'transfer-encoding: chunked\r\n\r\n';
      for (const piece of splitAt(body, cuts)) if (piece.length > 0) text += `${piece.length.toString(16)}${ext}\r\n${piece}\r\n`;
      text += '0\r\n';
      for (const [n, v] of trailers) text += `${n}: ${v}\r\n`;
      text += '\r\n';
    }
    return { text, body, headers, trailers: framing === 'chunked' ? trailers : [], status, eof: framing === 'close' };
  });

function grouped(fields: [string, string][]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [n, v] of fields) {
    const prior = out[n];
    out[n] = prior === undefined ? v : typeof prior === 'string' ? [prior, v] : [...prior, v];
  }
  return out;
}

describe('ResponseParser: properties', () => {
  it('a valid response parses to its status, fields, body and trailers, however it is split into reads', () => {
    fc.assert(
      fc.property(response, fc.array(fc.nat(), { maxLength: 12 }), (r, cuts) => {
        const o = parse(splitAt(r.text, cuts), { eof: r.eof });
        assert.equal(o.error, null);
        assert.equal(o.heads.length, 1);
        assert.equal(o.heads[0]!.status, r.status);
        const fields = { ...o.heads[0]!.headers };
        delete fields['content-length'];
        delete fields['transfer-encoding'];
        assert.deepEqual(fields, grouped(r.headers));
        assert.equal(o.body, r.body);
        assert.deepEqual(o.trailers, grouped(r.trailers));
        assert.equal(o.leftover, 0);
      }),
      { numRuns: 500 },
    );
  });

  it('any input, valid or corrupted, gives the same outcome whole or split into reads', () => {
    const corrupted = fc
      .tuple(response, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }))
      .map(([r, edits]) => {
        const bytes = Buffer.from(r.text, 'latin1');
        for (const [at, byte] of edits) if (bytes.length > 0) bytes[at % bytes.length] = byte;
        return { text: bytes.toString('latin1'), eof: r.eof };
      });
    fc.assert(
      fc.property(corrupted, fc.array(fc.nat(), { maxLength: 12 }), (r, cuts) => {
        const whole = parse([r.text], { eof: r.eof });
        const split = parse(splitAt(r.text, cuts), { eof: r.eof });
        assert.equal(split.error === null, whole.error === null, `whole: ${whole.error}, split: ${split.error}`);
        assert.deepEqual(split.heads, whole.heads);
        if (whole.error === null) {
          assert.equal(split.body, whole.body);
          assert.deepEqual(split.trailers, whole.trailers);
          assert.equal(split.leftover, whole.leftover);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a field value with CR, LF or NUL never passes, whatever surrounds it', () => {
    fc.assert(
      fc.property(fieldValue, fc.constantFrom('\r', '\n', '\0'), fieldValue, (before, bad, after) => {
        const o = parse([`HTTP/1.1 200 OK\r\nX-A: ${before}${bad}${after}\r\nContent-Length: 0\r\n\r\n`]);
        if (o.error === null) {
          // Only possible if the bad byte made a well-formed line break: then the value never holds it.
          for (const h of o.heads) for (const v of Object.values(h.headers)) assert.doesNotMatch(String(v), /[\r\n\0]/);
        }
      }),
    );
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { renderErrorPage } from '../../src/frontend/error-page.js';
import type { ErrorFormat } from '../../src/frontend/error-format.js';
import { Errors } from '../../src/errors.js';

const ID = '6f0c6d3e-9a77-4d1c-8f5e-0d6c9b2f3a41';

test('renderErrorPage json carries error, status and request_id, and detail only when given', () => {
  const without = renderErrorPage('json', 404, 'Not Found', ID);
  assert.equal(without.contentType, 'application/json; charset=utf-8');
  assert.equal(without.body, `{"error":"Not Found","status":404,"request_id":"${ID}"}`);

  const withDetail = renderErrorPage('json', 400, 'Bad Request', ID, Errors.ESCAPED_SLASH_IN_PATH.message);
  assert.deepEqual(JSON.parse(withDetail.body), {
    error: 'Bad Request',
    status: 400,
    request_id: ID,
    detail: 'the path contains an escaped slash or backslash',
  });
});

test('renderErrorPage plain and grpc carry the same JSON object under their own content types', () => {
  const json = renderErrorPage('json', 503, 'Service Unavailable', ID, 'no upstream is available');
  const plain = renderErrorPage('plain', 503, 'Service Unavailable', ID, 'no upstream is available');
  const grpc = renderErrorPage('grpc', 503, 'Service Unavailable', ID, 'no upstream is available');
  assert.equal(plain.contentType, 'text/plain; charset=utf-8');
  assert.equal(grpc.contentType, 'application/grpc+json; charset=utf-8');
  assert.equal(plain.body, json.body);
  assert.equal(grpc.body, json.body);
});

test('renderErrorPage html shows status, status text, request id and detail in a self-contained page', () => {
  const page = renderErrorPage('html', 403, 'Forbidden', ID, 'access to this route is not allowed');
  assert.equal(page.contentType, 'text/html; charset=utf-8');
  assert.match(page.body, /^<!doctype html>/);
  assert.match(page.body, /<title>403 Forbidden<\/title>/);
  assert.match(page.body, /<span class="status">403<\/span> Forbidden<\/h1>/);
  assert.match(page.body, /<p>access to this route is not allowed<\/p>/);
  assert.ok(page.body.includes(`<code>${ID}</code>`));
  assert.ok(page.body.endsWith('</html>'));
  // nothing is fetched from anywhere
  for (const external of ['src=', 'href=', 'url(', '@import', 'http:', 'https:', '//']) {
    assert.ok(!page.body.includes(external), `page contains ${external}`);
  }
});

test('renderErrorPage html leaves out the detail paragraph when there is no detail', () => {
  const page = renderErrorPage('html', 404, 'Not Found', ID);
  assert.ok(!page.body.includes('<p>'));
  assert.ok(page.body.includes(`<code>${ID}</code>`));
});

const SCRIPT = '<script>alert(document.cookie)</script>';

test('renderErrorPage never lets an injected tag through in any format', () => {
  for (const format of ['html', 'json', 'plain', 'grpc'] as const) {
    const page = renderErrorPage(format, 400, `Bad ${SCRIPT}`, `id"${SCRIPT}'`, `detail ${SCRIPT} & "quoted"`);
    assert.ok(!page.body.toLowerCase().includes('<script'), `${format}: ${page.body}`);
  }
  const html = renderErrorPage('html', 400, SCRIPT, SCRIPT, SCRIPT).body;
  assert.ok(html.includes('&lt;script&gt;alert(document.cookie)&lt;/script&gt;'));
  const attribute = renderErrorPage('html', 400, 'x', `"><img onerror=x src='y'>`).body;
  assert.ok(attribute.includes('&quot;&gt;&lt;img onerror=x src=&#39;y&#39;&gt;'));
});

// ---- properties ----------------------------------------------------------

const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const hostile = fc.string({
  unit: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('<', '>', '&', '"', "'", '\\', '/', '\n', '\u2028', 'script') }, anyUnit),
  maxLength: 40,
  size: 'max',
});
const status = fc.integer({ min: 100, max: 599 });
const detail = fc.option(hostile, { nil: undefined });

function count(s: string, ch: string): number {
  return s.split(ch).length - 1;
}

test('renderErrorPage html has the same markup whatever the interpolated strings hold', () => {
  fc.assert(
    fc.property(status, hostile, hostile, detail, (code, text, id, d) => {
      const body = renderErrorPage('html', code, text, id, d).body;
      const neutral = renderErrorPage('html', code, 'x', 'x', d === undefined ? undefined : 'x').body;
      for (const ch of ['<', '>', '"', "'"]) assert.equal(count(body, ch), count(neutral, ch), `count of ${ch}`);
    }),
    { numRuns: 3000 },
  );
});

test('renderErrorPage JSON bodies parse back to exactly the given values and hold no angle brackets', () => {
  fc.assert(
    fc.property(fc.constantFrom<ErrorFormat>('json', 'plain', 'grpc'), status, hostile, hostile, detail, (format, code, text, id, d) => {
      const body = renderErrorPage(format, code, text, id, d).body;
      const expected: Record<string, unknown> = { error: text, status: code, request_id: id };
      if (d !== undefined) expected.detail = d;
      assert.deepEqual(JSON.parse(body), expected);
      assert.ok(!body.includes('<') && !body.includes('>'));
    }),
    { numRuns: 3000 },
  );
});

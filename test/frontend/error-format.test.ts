import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { errorFormat, type ErrorFormat } from '../../src/frontend/error-format.js';

// pomerium/pomerium config/envoyconfig/lua_test.go, TestLuaLocalReplyContentType:
// {contentType, accept, expect}.
const pomeriumCases: ReadonlyArray<readonly [string, string, ErrorFormat]> = [
  ['', 'text/html', 'html'],
  ['', 'application/json', 'json'],
  ['', 'text/plain', 'plain'],
  ['', 'text/plain,text/html', 'plain'],
  ['', 'text/plain;q=0.8,text/html;q=0.9', 'html'],
  ['', 'application/json;q=0.8,text/*;q=0.9', 'html'],
  ['application/grpc', '', 'grpc'],
];

test("errorFormat answers Pomerium's local-reply-type test cases", () => {
  for (const [contentType, accept, expected] of pomeriumCases) {
    assert.equal(errorFormat(accept, contentType), expected, `accept=${accept} content-type=${contentType}`);
  }
});

const cases: ReadonlyArray<readonly [string | undefined, string | undefined, ErrorFormat]> = [
  // defaults
  [undefined, undefined, 'html'],
  ['', undefined, 'html'],
  ['*/*', undefined, 'html'],
  ['image/png', undefined, 'html'],
  ['application/xml', undefined, 'html'],
  // what real clients send
  ['text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8', undefined, 'html'],
  ['application/json, text/plain, */*', undefined, 'json'], // axios
  ['*/*', 'application/json', 'html'], // curl posting JSON
  // the first matching element of the best weight
  ['text/*', undefined, 'html'],
  ['application/*', undefined, 'json'],
  ['*/*,application/json', undefined, 'json'],
  ['image/png,text/plain', undefined, 'plain'],
  ['application/json;q=0.5,text/plain;q=0.5', undefined, 'json'],
  ['text/plain;q=0.5,application/json;q=0.5', undefined, 'plain'],
  ['text/html;q=0.1,application/json;q=0.2,text/plain;q=0.15', undefined, 'json'],
  ['text/html;q=1.0,application/json;q=1', undefined, 'html'],
  ['text/html;q=.5,application/json;q=0.4', undefined, 'html'],
  // a weight of 0 only sorts last, as in Pomerium
  ['application/json;q=0', undefined, 'json'],
  ['text/html;q=0,application/json;q=0.1', undefined, 'json'],
  // grpc by request Content-Type, before Accept is read
  ['text/html', 'application/grpc', 'grpc'],
  [undefined, 'application/grpc+proto', 'grpc'],
  [undefined, 'application/grpc-web-text', 'grpc'],
  [undefined, 'application/grpc-web+proto', 'grpc'],
  [undefined, 'Application/GRPC', 'grpc'],
  ['application/json', 'application/json', 'json'],
  ['text/html', 'application/grp', 'html'],
  // where RFC 9110 is followed instead of the script's literal byte matching
  ['application/xml, application/json', undefined, 'json'],
  ['text/plain;q=0.5, application/json', undefined, 'json'],
  ['TEXT/PLAIN', undefined, 'plain'],
  ['Application/JSON', undefined, 'json'],
  ['text/html ; q=0.1, text/plain', undefined, 'plain'],
  ['text/plain; q = 0.5, application/json; Q=0.6', undefined, 'json'],
  ['text/plain;q=0.5;level=1,application/json;q=0.4', undefined, 'plain'],
  ['text/plain;level=1;q=0.3,application/json;q=0.4', undefined, 'json'],
  ['\ttext/plain\t', undefined, 'plain'],
  // weights that are not numbers, as the script's sort treats them
  ['text/plain;q=abc', undefined, 'plain'], // one element: never compared
  ['text/plain;q=', undefined, 'plain'],
  ['text/plain;q=abc,application/json', undefined, 'html'], // mixed: the sort throws, Envoy falls back to HTML
  ['application/json;q=1e0,text/plain;q=0.5', undefined, 'html'],
  ['application/json;q=-1,text/plain', undefined, 'html'],
  ['image/png;q=x,text/plain;q=y,application/json;q=z', undefined, 'plain'], // none numeric: order sent
];

test('errorFormat picks the format by weight, then order, with grpc first and html by default', () => {
  for (const [accept, contentType, expected] of cases) {
    assert.equal(errorFormat(accept, contentType), expected, `accept=${accept} content-type=${contentType}`);
  }
});

// ---- properties ----------------------------------------------------------

/**
 * A model shaped like the Lua script: split, attach (weight, position),
 * sort, take the first element whose type is known; a sort over mixed
 * numeric and non-numeric weights fails and the answer is html.
 */
function model(accept: string | undefined, contentType: string | undefined): ErrorFormat {
  if (contentType?.toLowerCase().startsWith('application/grpc')) return 'grpc';
  if (accept === undefined) return 'html';
  const elements = accept.split(',').map((element, position) => {
    const [range, ...params] = element.split(';');
    const qParam = params.find((p) => p.split('=')[0]!.trim().toLowerCase() === 'q' && p.includes('='));
    const qText = qParam === undefined ? '1' : qParam.slice(qParam.indexOf('=') + 1).trim();
    const q = /^(\d+\.?\d*|\.\d+)$/.test(qText) ? Number(qText) : NaN;
    return { type: range!.trim().toLowerCase(), q, position };
  });
  const numeric = elements.filter((e) => !Number.isNaN(e.q)).length;
  if (numeric > 0 && numeric < elements.length) return 'html';
  elements.sort((a, b) => (a.q === b.q || numeric === 0 ? a.position - b.position : b.q - a.q));
  for (const { type } of elements) {
    if (type === 'text/html' || type === 'text/*') return 'html';
    if (type === 'text/plain') return 'plain';
    if (type === 'application/json' || type === 'application/*') return 'json';
  }
  return 'html';
}

const ows = fc.constantFrom('', '', '', ' ', '\t', '  ');
const range = fc.constantFrom(
  'text/html',
  'text/*',
  'text/plain',
  'application/json',
  'application/*',
  '*/*',
  'image/png',
  'application/xml',
  'TEXT/HTML',
  'Application/Json',
  'text/plainx',
  '',
);
const weight = fc.constantFrom('1', '0', '0.5', '0.8', '0.800', '.5', '1.', '0.9', '0.25', 'abc', '', '-1', '1e0');
const element = fc
  .record({
    before: ows,
    range,
    after: ows,
    q: fc.option(fc.tuple(ows, fc.constantFrom('q', 'Q'), ows, ows, weight, ows), { nil: undefined }),
    ext: fc.option(fc.constantFrom(';level=1', '; charset=utf-8'), { nil: undefined }),
  })
  .map(({ before, range, after, q, ext }) => {
    let s = before + range + after;
    if (q !== undefined) {
      const [sp1, name, sp2, sp3, value, sp4] = q;
      s += `;${sp1}${name}${sp2}=${sp3}${value}${sp4}`;
    }
    return s + (ext ?? '');
  });
const acceptHeader = fc.option(fc.array(element, { minLength: 1, maxLength: 6 }).map((es) => es.join(',')), { nil: undefined });
const contentType = fc.option(fc.constantFrom('application/json', 'application/grpc', 'application/grpc-web+proto', 'APPLICATION/GRPC', 'text/plain', ''), {
  nil: undefined,
});

test('errorFormat agrees with a sort-based model of the Lua script', () => {
  fc.assert(
    fc.property(acceptHeader, contentType, (accept, type) => {
      assert.equal(errorFormat(accept, type), model(accept, type), `accept=${JSON.stringify(accept)} content-type=${type}`);
    }),
    { numRuns: 5000 },
  );
});

test('errorFormat never throws and always answers one of the four formats', () => {
  const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
  const text = fc.option(fc.string({ unit: fc.oneof(anyUnit, fc.constantFrom(',', ';', '=', 'q', ' ')), maxLength: 40, size: 'max' }), { nil: undefined });
  fc.assert(
    fc.property(text, text, (accept, type) => {
      assert.ok(['html', 'json', 'plain', 'grpc'].includes(errorFormat(accept, type)));
    }),
    { numRuns: 3000 },
  );
});

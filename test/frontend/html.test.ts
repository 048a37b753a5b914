import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { escapeHtml } from '../../src/frontend/html.js';

function unescape(html: string): string {
  return html.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
}

test('escapeHtml replaces the five HTML-special characters and nothing else', () => {
  const table: ReadonlyArray<readonly [string, string]> = [
    ['', ''], ['plain', 'plain'], ['<b>', '&lt;b&gt;'], ['"x"', '&quot;x&quot;'], ["it's", 'it&#39;s'], ['a&b', 'a&amp;b'], ['&amp;', '&amp;amp;'], ['é ü 😀', 'é ü 😀'],
  ];
  for (const [input, output] of table) assert.equal(escapeHtml(input), output);
});

test('escaped text has no markup characters left and unescapes to the original', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const e = escapeHtml(s);
      return !/[<>"']/.test(e) && !/&(?!(amp|lt|gt|quot|#39);)/.test(e) && unescape(e) === s;
    }),
    { numRuns: 2000 },
  );
});

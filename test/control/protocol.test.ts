import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSplitter } from '../../src/control/protocol.js';

function split(chunks: readonly string[], max = 64): { lines: string[]; ok: boolean } {
  const splitter = new LineSplitter(max);
  const lines: string[] = [];
  let ok = true;
  for (const chunk of chunks) {
    ok = splitter.push(Buffer.from(chunk), (line) => lines.push(line));
    if (!ok) break;
  }
  return { lines, ok };
}

test('lines are split at \\n whatever the chunking, with a \\r before it dropped', () => {
  const cases: ReadonlyArray<readonly [readonly string[], readonly string[]]> = [
    [['a\n'], ['a']],
    [['a\nb\n'], ['a', 'b']],
    [['a', 'b', '\n'], ['ab']],
    [['a\r\n', 'b\r', '\n'], ['a', 'b']],
    [['\n'], ['']],
    [['partial'], []],
    [['x\ny'], ['x']],
  ];
  for (const [chunks, lines] of cases) assert.deepEqual(split(chunks).lines, lines, JSON.stringify(chunks));
});

test('a line longer than the limit is refused, with or without its newline, however it was chunked', () => {
  assert.equal(split(['a'.repeat(65)]).ok, false);
  assert.equal(split(['a'.repeat(65) + '\n']).ok, false);
  assert.equal(split(['a'.repeat(40), 'a'.repeat(25)]).ok, false);
  assert.equal(split(['a'.repeat(40), 'a'.repeat(25) + '\n']).ok, false);
  assert.deepEqual(split(['a'.repeat(64) + '\n']), { lines: ['a'.repeat(64)], ok: true });
  assert.deepEqual(split(['a'.repeat(32), 'a'.repeat(32), '\nb\n']), { lines: ['a'.repeat(64), 'b'], ok: true });
});

test('multi-byte characters cut between chunks come out whole', () => {
  const bytes = Buffer.from('é☃\n');
  const splitter = new LineSplitter(64);
  const lines: string[] = [];
  for (const byte of bytes) splitter.push(Buffer.from([byte]), (line) => lines.push(line));
  assert.deepEqual(lines, ['é☃']);
});

test('any chunking of any lines within the limit gives back exactly those lines', () => {
  const line = fc.string({ maxLength: 20 }).filter((s) => !s.includes('\n') && !s.endsWith('\r'));
  fc.assert(
    fc.property(fc.array(line, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (lines, cuts) => {
      const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''));
      const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
      const splitter = new LineSplitter(80);
      const out: string[] = [];
      let from = 0;
      for (const at of [...points, bytes.length]) {
        assert.equal(splitter.push(bytes.subarray(from, at), (l) => out.push(l)), true);
        from = at;
      }
      assert.deepEqual(out, lines);
    }),
  );
});

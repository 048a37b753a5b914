import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Change } from '../../../src/databroker/backend.js';
import { ChangeSequencer } from '../../../src/databroker/postgres/sequencer.js';

function change(version: number): Change {
  return { version, type: 't', id: `v${version}`, record: null };
}

/** Lets promise callbacks run, as the backend does after a feed row resolves a write. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('a write that is the next version resolves at once; the feed then skips its row', async () => {
  const s = new ChangeSequencer(4);
  const seq = 1;
  s.writeSent(seq);
  const committed = s.writeCommitted(seq, change(5));
  assert.equal(committed.waits, false);
  assert.equal((await committed.change).version, 5);
  assert.equal(s.applied, 5);
  assert.equal(s.offer(5, seq), 'seen');
});

test('a write after others\' changes waits for them: the feed delivers theirs, then resolves it', async () => {
  const s = new ChangeSequencer(0);
  const seq = 1;
  s.writeSent(seq);
  const committed = s.writeCommitted(seq, change(3));
  assert.equal(committed.waits, true);
  const order: string[] = [];
  void committed.change.then((c) => order.push(`write ${c.version}`));
  assert.equal(s.offer(1, null), 'deliver');
  order.push('feed 1');
  assert.equal(s.offer(2, null), 'deliver');
  order.push('feed 2');
  assert.equal(s.offer(3, seq), 'resolved');
  await flush();
  assert.deepEqual(order, ['feed 1', 'feed 2', 'write 3']);
  assert.equal(s.applied, 3);
});

test('the feed stops at our row until the write\'s answer arrives', () => {
  const s = new ChangeSequencer(0);
  const seq = 1;
  s.writeSent(seq);
  assert.equal(s.offer(1, seq), 'wait');
  assert.equal(s.applied, 0);
  assert.equal(s.writeCommitted(seq, change(1)).waits, false);
  assert.equal(s.offer(1, seq), 'seen');
});

test('the row of a write that failed after COMMIT is delivered like anyone else\'s', () => {
  const s = new ChangeSequencer(0);
  const seq = 1;
  s.writeSent(seq);
  s.writeFailed(seq);
  assert.equal(s.offer(1, seq), 'deliver');
});

test('waiting writes fail when the feed goes down, and resolve when a snapshot holds them', async () => {
  const s = new ChangeSequencer(0);
  const [a, b] = [1, 2];
  s.writeSent(a);
  s.writeSent(b);
  const first = s.writeCommitted(a, change(2)).change;
  s.failWaiting(new Error('feed down'));
  await assert.rejects(first, /feed down/);
  const second = s.writeCommitted(b, change(4)).change;
  s.resynchronised(6);
  assert.equal((await second).version, 4);
  assert.equal(s.applied, 6);
  assert.equal(s.pending, 0);
});

test('when the subscriber leaves, waiting writes and later ones resolve without the feed', async () => {
  const s = new ChangeSequencer(0);
  s.writeSent(1);
  s.writeSent(2);
  const waiting = s.writeCommitted(1, change(3));
  assert.equal(waiting.waits, true);
  s.release();
  assert.equal((await waiting.change).version, 3);
  const later = s.writeCommitted(2, change(7));
  assert.equal(later.waits, false);
  assert.equal((await later.change).version, 7);
});

test('a row offered out of order is a bug in the caller, not silently skipped', () => {
  const s = new ChangeSequencer(0);
  assert.throws(() => s.offer(2, null), RangeError);
});

/**
 * Any interleaving of our writes (sent in order, answered in order, some
 * failing after COMMIT), others' changes and feed reads: what the replica
 * receives, from the listener and from its writes together, is every
 * version exactly once, in order.
 */
test('property: listener and own writes together give every version once, in order, whatever the interleaving', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ ours: fc.boolean(), fails: fc.boolean() }), { minLength: 1, maxLength: 25 }),
      fc.array(fc.nat(2), { maxLength: 80 }),
      async (versions, schedule) => {
        const n = versions.length;
        const s = new ChangeSequencer(0);
        const out: number[] = [];
        const ours = versions.map((v, i) => ({ version: i + 1, fails: v.fails, ours: v.ours })).filter((v) => v.ours);
        const seqOf = new Map<number, number>();
        let sent = 0;
        let answered = 0;

        const send = (): void => {
          const w = ours[sent++]!;
          seqOf.set(w.version, sent);
          s.writeSent(sent);
        };
        const answer = (): void => {
          const w = ours[answered++]!;
          const seq = seqOf.get(w.version)!;
          if (w.fails) s.writeFailed(seq);
          else void s.writeCommitted(seq, change(w.version)).change.then((c) => out.push(c.version), () => undefined);
        };
        // The database holds every version up to the first of ours not yet sent (versions are taken at COMMIT).
        const committedUpTo = (): number => (sent < ours.length ? ours[sent]!.version - 1 : n);
        // As the backend reads: after resolving writes, let them run before passing on anything else.
        const read = async (): Promise<void> => {
          let resolved = false;
          for (let v = s.applied + 1; v <= committedUpTo(); v++) {
            if (resolved && !s.resolves(v)) {
              resolved = false;
              await flush();
            }
            const verdict = s.offer(v, seqOf.get(v) ?? null);
            if (verdict === 'wait') return;
            if (verdict === 'deliver') out.push(v);
            if (verdict === 'resolved') resolved = true;
          }
        };

        for (const step of schedule) {
          if (step === 0 && sent < ours.length) send();
          else if (step === 1 && answered < sent) answer();
          else await read();
          await flush();
        }
        while (sent < ours.length) send();
        while (answered < sent) {
          answer();
          await flush();
        }
        for (let guard = 0; s.applied < n && guard <= n; guard++) {
          await read();
          await flush();
        }
        assert.deepEqual(out, Array.from({ length: n }, (_, i) => i + 1));
        assert.equal(s.pending, 0);
      },
    ),
    { numRuns: 300 },
  );
});

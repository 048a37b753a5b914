import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planCatchUp, type FeedPosition } from '../../../src/databroker/peers/catch-up.js';

const feed: FeedPosition = { serverVersion: 'new', version: 100, earliest: 51, fork: { serverVersion: 'old', version: 80 } };

test('catch-up plan by the follower\'s position', () => {
  const cases: Array<[string, string, number, 'changes' | 'snapshot']> = [
    ['a replica that never synchronised', '', 0, 'snapshot'],
    ['in step', 'new', 100, 'changes'],
    ['behind, changes retained', 'new', 50, 'changes'],
    ['behind by one more than retained', 'new', 49, 'snapshot'],
    ['ahead of the leader on its own history (a lost leader\'s tail)', 'new', 101, 'snapshot'],
    ['on the history the leader forked from, up to the fork', 'old', 80, 'changes'],
    ['on the forked history, retained', 'old', 60, 'changes'],
    ['on the forked history, past the fork (saw changes the new leader never had)', 'old', 81, 'snapshot'],
    ['on the forked history, too far behind', 'old', 10, 'snapshot'],
    ['on an unrelated history', 'other', 100, 'snapshot'],
  ];
  for (const [name, serverVersion, version, expected] of cases) {
    assert.equal(planCatchUp({ serverVersion, version }, feed), expected, name);
  }
  assert.equal(planCatchUp({ serverVersion: 'old', version: 10 }, { ...feed, fork: null }), 'snapshot', 'no fork: the old history is unrelated');
  assert.equal(planCatchUp({ serverVersion: 'new', version: 100 }, { ...feed, earliest: 101 }), 'changes', 'in step with nothing retained');
});

test('changes are planned only for a replica that is a prefix of the feed and whose next change is retained', () => {
  const name = fc.constantFrom('', 'a', 'b', 'c');
  fc.assert(
    fc.property(name, fc.nat(200), name, fc.nat(200), fc.nat(200), fc.option(fc.record({ serverVersion: name, version: fc.nat(200) })), (rsv, rv, fsv, fv, retained, fork) => {
      const position: FeedPosition = { serverVersion: fsv, version: fv, earliest: fv - Math.min(retained, fv) + 1, fork: fork && fork.version <= fv ? fork : null };
      const plan = planCatchUp({ serverVersion: rsv, version: rv }, position);
      if (plan === 'changes') {
        assert.notEqual(rsv, '');
        const prefix = (rsv === fsv && rv <= fv) || (position.fork !== null && rsv === position.fork.serverVersion && rv <= position.fork.version);
        assert.ok(prefix);
        assert.ok(rv + 1 >= position.earliest);
      }
    }),
  );
});

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { admitFollower, certificateNamesNode, namesSomeNode, type PeerAdmission } from '../../../src/databroker/peers/peer-identity.js';
import { createCertificateAuthority, createPeerCertificate } from './fixtures.js';

const ca = createCertificateAuthority('Peer identity test CA');
after(() => ca.remove());

function cert(commonName: string, dnsNames?: readonly string[]): X509Certificate {
  return new X509Certificate(createPeerCertificate(ca, { commonName, ...(dnsNames ? { dnsNames } : {}) }).certPem);
}

test('which node ids a certificate names', () => {
  const cases: Array<[string, X509Certificate, string, boolean]> = [
    ['SAN names the node', cert('node-b', ['node-b']), 'node-b', true],
    ['SAN names another node', cert('node-b', ['node-b']), 'node-a', false],
    ['CN alone names the node when there is no DNS SAN', cert('node-c'), 'node-c', true],
    ['CN is ignored when a DNS SAN is present', cert('node-a', ['node-b']), 'node-a', false],
    ['a certificate shared by the cluster names each node it lists', cert('cluster', ['node-a', 'node-b']), 'node-b', true],
    ['a wildcard names no node', cert('wild', ['*.cluster']), 'b.cluster', false],
    ['DNS names compare without ASCII case', cert('node-b', ['NODE-B']), 'node-b', true],
    ['a longer name is not a match', cert('node-b', ['node-b']), 'node-b2', false],
    ['a suffix is not a match', cert('x', ['a.node-b']), 'node-b', false],
  ];
  for (const [name, certificate, nodeId, expected] of cases) assert.equal(certificateNamesNode(certificate, nodeId), expected, name);
});

test('admission of a follower: a configured node, not the leader itself, named by its certificate', () => {
  const nodes = new Set(['a', 'b', 'c']);
  const namesB = (id: string): boolean => id === 'b';
  const reason = (admission: PeerAdmission): string => (admission.ok ? 'admitted' : admission.reason);
  assert.deepEqual(admitFollower('b', 'a', nodes, namesB), { ok: true });
  assert.match(reason(admitFollower('z', 'a', nodes, () => true)), /node "z" is not in databroker_cluster_nodes/);
  assert.match(reason(admitFollower('a', 'a', nodes, () => true)), /a node does not follow itself/);
  assert.match(reason(admitFollower('c', 'a', nodes, namesB)), /the client certificate does not name node "c"/);
});

test('admitted exactly when all three conditions hold', () => {
  const id = fc.constantFrom<string>('a', 'b', 'c', 'd', '');
  fc.assert(
    fc.property(id, id, fc.uniqueArray(id), fc.uniqueArray(id), (claimed, self, configured, named) => {
      const nodes = new Set(configured);
      const admitted = admitFollower(claimed, self, nodes, (n) => named.includes(n)).ok;
      assert.equal(admitted, nodes.has(claimed) && claimed !== self && named.includes(claimed));
    }),
  );
});

test('namesSomeNode: true exactly when the certificate names at least one configured node', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.string()), fc.uniqueArray(fc.string()), (configured, named) => {
      assert.equal(namesSomeNode(configured, (n) => named.includes(n)), configured.some((n) => named.includes(n)));
    }),
  );
});

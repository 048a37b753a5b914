// Who a peer is. The TLS handshake has already proved that its certificate
// chains to databroker_cluster_ca_file; these rules decide which node, if
// any, the certificate stands for. A certificate names a node when one of its
// DNS subjectAltNames is the node id, or, only when it has no DNS name at all,
// when its common name is (RFC 6125). Matching is OpenSSL's, exact but for
// ASCII case, with wildcards refused: `*.cluster` stands for no node.
import type { X509Certificate } from 'node:crypto';

export function certificateNamesNode(cert: X509Certificate, nodeId: string): boolean {
  return cert.checkHost(nodeId, { subject: 'default', wildcards: false, partialWildcards: false }) !== undefined;
}

export type PeerAdmission = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Whether the leader `selfId` serves a follower that says it is `claimed`:
 * a configured node other than the leader itself, named by its certificate.
 */
export function admitFollower(claimed: string, selfId: string, nodeIds: ReadonlySet<string>, certificateNames: (nodeId: string) => boolean): PeerAdmission {
  if (!nodeIds.has(claimed)) return { ok: false, reason: `node "${claimed}" is not in databroker_cluster_nodes` };
  if (claimed === selfId) return { ok: false, reason: `node "${claimed}" is this leader; a node does not follow itself` };
  if (!certificateNames(claimed)) return { ok: false, reason: `the client certificate does not name node "${claimed}"` };
  return { ok: true };
}

/** Whether a certificate names any configured node: checked right after the handshake, before a byte is read. */
export function namesSomeNode(nodeIds: Iterable<string>, certificateNames: (nodeId: string) => boolean): boolean {
  for (const id of nodeIds) if (certificateNames(id)) return true;
  return false;
}

// The certificate material of a peer group member: its own certificate and
// key (presented as server by the leader and as client by followers) and the
// CA that every member's certificate must chain to. Nothing else is trusted:
// the CA replaces the system roots on both sides.
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { certificateNamesNode } from './peer-identity.js';

export interface PeerTls {
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
}

/**
 * Throws, with what is wrong, when the PEMs do not load, the key does not
 * match the certificate, or the certificate does not name this node (the
 * other nodes would refuse it, so better to say so at start).
 */
export function checkPeerTls(tls: PeerTls, nodeId: string): void {
  let cert: X509Certificate;
  try {
    createSecureContext({ cert: tls.certPem, key: tls.keyPem, ca: tls.caPem });
    cert = new X509Certificate(tls.certPem);
  } catch (err) {
    throw new Error(`the databroker cluster certificate, key or CA is not usable: ${(err as Error).message}`, { cause: err });
  }
  if (!certificateNamesNode(cert, nodeId)) {
    throw new Error(`the databroker cluster certificate (${cert.subject.replace(/\n/g, ', ')}) does not name this node "${nodeId}" in its DNS subjectAltName (or CN, when it has no DNS name)`);
  }
}

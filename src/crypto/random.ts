// Unguessable identifiers (session ids, state, CSRF tokens, nonces).
import { randomBytes } from 'node:crypto';

/** `bytes` random bytes as unpadded base64url (16 bytes → 22 characters, 128 bits). */
export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

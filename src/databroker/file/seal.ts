// Sealing and opening frame bodies: the one place the file backend meets the
// ValueSealer, so the additional data is always built the same way.
import type { ValueSealer } from '../backend.js';
import { encodeFrameHeader, frameAad, type FrameKind } from './frame.js';

/** A whole frame (header and sealed body) for `plaintext`, bound to its file, kind, sequence and offset. */
export function sealFrame(sealer: ValueSealer, fileId: string, kind: FrameKind, sequence: number, offset: number, plaintext: Buffer): Buffer[] {
  const body = sealer.seal(plaintext, frameAad(fileId, kind, sequence, offset));
  return [encodeFrameHeader(kind, body.length, sequence), body];
}

/** The plaintext, or null when no configured key opens the body under this binding (wrong key, tampered, moved). */
export function openFrame(sealer: ValueSealer, fileId: string, kind: FrameKind, sequence: number, offset: number, body: Buffer): Buffer | null {
  try {
    return sealer.open(body, frameAad(fileId, kind, sequence, offset));
  } catch {
    // A sealer should answer null for anything it cannot open; treat a throw the same.
    return null;
  }
}

export const UNOPENABLE =
  'the block does not open: it was sealed with a key that is not configured (a removed key?), or it was altered or moved';

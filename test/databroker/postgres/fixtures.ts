// Test doubles that need no server: a real ValueSealer over the project's
// AES-256-GCM tokens, and a logger whose every line the test can read.
import { pino } from 'pino';
import { open as openToken, seal as sealToken } from '../../../src/crypto/aead.js';
import type { ValueSealer } from '../../../src/databroker/backend.js';
import type { Logger } from '../../../src/telemetry/logger.js';

/** Seals with keys[0] and opens with any of `keys`, as a sealer does across a key rotation. */
export function testSealer(keys: readonly Buffer[] = [Buffer.alloc(32, 7)]): ValueSealer {
  return {
    seal: (plaintext, aad) => Buffer.from(sealToken(keys[0]!, plaintext, aad), 'base64url'),
    open: (blob, aad) => openToken(keys, blob.toString('base64url'), aad),
  };
}

export interface CapturedLogger {
  readonly logger: Logger;
  /** Every line written, raw. */
  readonly lines: string[];
}

export function capturingLogger(): CapturedLogger {
  const lines: string[] = [];
  return { logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }), lines };
}

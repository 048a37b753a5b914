// A damaged or tampered store refuses to load, and says exactly where.
import { Errors, PosternError } from '../../errors.js';

/** Where a store directory stops being trustworthy, and why. */
export interface Damage {
  /** Absolute path of the file. */
  readonly file: string;
  /** Byte offset of the frame (block) that failed. */
  readonly offset: number;
  readonly reason: string;
}

export class DatabrokerCorruptError extends PosternError {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;

  constructor(damage: Damage, advice: string) {
    super(Errors.DATABROKER_CORRUPT, `${damage.file} at byte ${damage.offset}: ${damage.reason}; ${advice}`);
    this.name = 'DatabrokerCorruptError';
    this.file = damage.file;
    this.offset = damage.offset;
    this.reason = damage.reason;
  }
}

export const RECOVERY_ADVICE =
  'refusing to start rather than serve partial data (recovering the valid prefix keeps everything before this block and moves the rest aside)';
export const NO_RECOVERY_ADVICE = 'refusing to start: a snapshot is the base of everything after it, so there is no valid prefix to keep';
export const NOTHING_TO_KEEP_ADVICE =
  'refusing to start even with recovery: nothing in the store could be read, so there is no valid prefix to keep (is the encryption key right?); move the directory away to start empty';

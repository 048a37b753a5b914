// Service accounts: long-lived credentials for machines. The token is shown
// once at creation; the databroker keeps only a keyed hash of its secret, so
// a copy of the store yields no usable token. The record expires with the
// account and is deleted on revocation, so the next request with the token
// is refused at once. Verifying is one lookup and one HMAC: cheap enough for
// every request.
import { Errors, PosternError } from '../errors.js';
import { parseDuration } from '../config/duration.js';
import type { Parsed } from '../config/findings.js';
import type { Databroker } from '../databroker/types.js';
import { SERVICE_ACCOUNT, type ServiceAccountData } from './records.js';
import {
  hashServiceAccountSecret,
  newServiceAccountToken,
  parseServiceAccountToken,
  verifyServiceAccountSecret,
} from './service-account-token.js';

/** What may be shown about an account: everything but the hash. */
export interface ServiceAccountInfo {
  readonly id: string;
  readonly name: string;
  readonly userId: string;
  readonly email: string;
  readonly createdAt: number;
  /** Milliseconds since the epoch; 0 = never. */
  readonly expiresAt: number;
}

/** Who a verified token acts as. */
export interface ServiceAccountIdentity {
  readonly id: string;
  readonly userId: string;
  readonly email: string;
  readonly name: string;
}

export interface CreateOptions {
  /** Omitted: the account never expires. */
  readonly expiresInMs?: number | undefined;
  readonly email?: string | undefined;
}

export const USER_ID_PREFIX = 'sa:';
const MAX_NAME_LENGTH = 63;
const MAX_EMAIL_LENGTH = 254;
// The latest instant a Date can hold.
const MAX_TIME_MS = 8.64e15;
const DAY_MS = 86_400_000;

function isLowerAlnum(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

/** `[a-z0-9][a-z0-9-]{0,62}`: the name becomes the user id `sa:<name>` that policies name. */
export function isServiceAccountName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || !isLowerAlnum(name.charCodeAt(0))) return false;
  for (let i = 1; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!isLowerAlnum(c) && c !== 0x2d) return false;
  }
  return true;
}

/**
 * The email travels in identity headers and the identity JWT, so it is held
 * to visible ASCII (no space, no control character that could split a
 * header) with one `@` between a local part and a domain.
 */
export function isServiceAccountEmail(email: string): boolean {
  if (email.length === 0 || email.length > MAX_EMAIL_LENGTH) return false;
  const at = email.indexOf('@');
  if (at <= 0 || at === email.length - 1 || email.indexOf('@', at + 1) !== -1) return false;
  for (let i = 0; i < email.length; i++) {
    const c = email.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/**
 * A lifetime such as `30d`, `12h`, `1d12h` or `90m`: Go's duration syntax,
 * which has no days, plus a leading whole number of days, since days are how
 * people think about credential lifetimes. Must be positive.
 */
export function parseServiceAccountLifetime(text: string): Parsed<number> {
  const invalid: Parsed<number> = { ok: false, error: `invalid lifetime ${JSON.stringify(text)}: use days (30d), a duration (12h, 90m) or both (1d12h)` };
  let i = 0;
  while (i < text.length && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
  let ms = 0;
  let rest = text;
  if (i > 0 && text[i] === 'd') {
    ms = Number(text.slice(0, i)) * DAY_MS;
    rest = text.slice(i + 1);
  } else if (text === '') {
    return invalid;
  }
  if (rest !== '') {
    // A sign is no part of a lifetime, and after the days it would read as arithmetic.
    if (rest[0] === '-' || rest[0] === '+') return invalid;
    const parsed = parseDuration(rest);
    if (!parsed.ok) return invalid;
    ms += parsed.value;
  }
  if (!(ms > 0)) return { ok: false, error: `the lifetime ${JSON.stringify(text)} must be positive` };
  if (ms > MAX_TIME_MS) return { ok: false, error: `the lifetime ${JSON.stringify(text)} is too long` };
  return { ok: true, value: ms };
}

function invalid(detail: string): PosternError {
  return new PosternError(Errors.SERVICE_ACCOUNT_INVALID, detail);
}

function infoOf(id: string, data: ServiceAccountData): ServiceAccountInfo {
  return { id, name: data.name, userId: data.userId, email: data.email, createdAt: data.createdAt, expiresAt: data.expiresAt };
}

export class ServiceAccounts {
  readonly #db: Databroker;
  readonly #pepper: Buffer;
  readonly #now: () => number;

  /** `pepper`: the key of the stored hashes, kept out of the databroker so the store alone cannot check a guess. */
  constructor(db: Databroker, pepper: Buffer, now: () => number = Date.now) {
    this.#db = db;
    this.#pepper = pepper;
    this.#now = now;
  }

  /**
   * Creates an account and returns its token, the only time the token
   * exists outside the caller. Names need not be unique: a second account
   * with the same name acts as the same user, which is how a token is
   * rotated without downtime (create, deploy, revoke the old one).
   */
  async create(name: string, options: CreateOptions = {}): Promise<{ token: string; account: ServiceAccountInfo }> {
    if (!isServiceAccountName(name)) {
      throw invalid(`the name must be 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit`);
    }
    const email = options.email ?? '';
    if (email !== '' && !isServiceAccountEmail(email)) throw invalid('the email must be one address of visible ASCII characters');
    const createdAt = this.#now();
    let expiresAt = 0;
    if (options.expiresInMs !== undefined) {
      if (!(options.expiresInMs > 0) || !Number.isFinite(options.expiresInMs)) throw invalid('the lifetime must be positive');
      expiresAt = createdAt + Math.ceil(options.expiresInMs);
      if (expiresAt > MAX_TIME_MS) throw invalid('the lifetime reaches past the year 275760');
    }
    const { id, secret, token } = newServiceAccountToken();
    const data: ServiceAccountData = {
      name,
      userId: `${USER_ID_PREFIX}${name}`,
      email,
      keyHash: hashServiceAccountSecret(this.#pepper, id, secret),
      createdAt,
      expiresAt,
    };
    await this.#db.put(SERVICE_ACCOUNT, id, data, { expiresAt: expiresAt === 0 ? null : expiresAt });
    return { token, account: infoOf(id, data) };
  }

  /** Live accounts, oldest first; never the hash. */
  list(): ServiceAccountInfo[] {
    return this.#db
      .list<ServiceAccountData>(SERVICE_ACCOUNT)
      .map((record) => infoOf(record.id, record.data))
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Resolves true when a live account was revoked; its token is refused from the next request on. */
  revoke(id: string): Promise<boolean> {
    return this.#db.delete(SERVICE_ACCOUNT, id);
  }

  /** The account a token belongs to, or null for a malformed, unknown, expired, revoked or wrong token. */
  verify(token: string): ServiceAccountIdentity | null {
    const parsed = parseServiceAccountToken(token);
    if (parsed === null) return null;
    const record = this.#db.get<ServiceAccountData>(SERVICE_ACCOUNT, parsed.id);
    if (record === null) return null;
    const { data } = record;
    if (!verifyServiceAccountSecret(this.#pepper, parsed.id, parsed.secret, data.keyHash)) return null;
    return { id: record.id, userId: data.userId, email: data.email, name: data.name };
  }
}

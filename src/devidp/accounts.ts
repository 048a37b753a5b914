// The dev IdP's users as oidc-provider accounts: found by `sub` (the
// configured username), signed in by username (any case) and password,
// and described by the claims email, email_verified, name and groups.
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { AccountClaims } from 'oidc-provider';
import { ARGON2ID_OPTIONS } from './password.js';
import type { DevIdpUser } from './types.js';
import { loginKey } from './users.js';

/** Which scope releases which claims; `groups` comes with `profile` (what clients ask for by default) and on its own. */
export const SCOPE_CLAIMS = Object.freeze({
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'groups'],
  groups: ['groups'],
});

export function accountClaims(user: DevIdpUser): AccountClaims {
  return { sub: user.username, email: user.email, email_verified: user.emailVerified, name: user.name, groups: [...user.groups] };
}

export class Accounts {
  readonly #bySub = new Map<string, DevIdpUser>();
  readonly #byLogin = new Map<string, DevIdpUser>();
  /** Verified in place of a missing user's hash, so the answer takes as long whether or not the username exists. */
  readonly #decoyHash: string;

  private constructor(users: readonly DevIdpUser[], decoyHash: string) {
    for (const user of users) {
      this.#bySub.set(user.username, user);
      this.#byLogin.set(loginKey(user.username), user);
    }
    this.#decoyHash = decoyHash;
  }

  static async create(users: readonly DevIdpUser[]): Promise<Accounts> {
    return new Accounts(users, await hash(randomBytes(16), ARGON2ID_OPTIONS));
  }

  find(sub: string): DevIdpUser | undefined {
    return this.#bySub.get(sub);
  }

  /** The user signing in as `username` (any case), whatever the password. */
  byUsername(username: string): DevIdpUser | undefined {
    return this.#byLogin.get(loginKey(username));
  }

  /** The user whose password this is, or null; always costs one argon2 verification. */
  async authenticate(username: string, password: string): Promise<DevIdpUser | null> {
    const user = this.byUsername(username);
    const ok = await verify(user?.passwordHash ?? this.#decoyHash, password);
    return ok && user !== undefined ? user : null;
  }
}

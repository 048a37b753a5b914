// How the dev IdP's password hashes are made (`postern hash-password`).
// argon2id with OWASP's minimum profile, which is also @node-rs/argon2's
// default (19 MiB of memory, 2 passes, 1 lane; about 13 ms per hash or
// verification here), written out so that a change of library defaults
// never changes our hashes silently. Verification reads the parameters from
// the hash itself, so stronger hashes made elsewhere work too.
import { hash, type Options } from '@node-rs/argon2';

export const ARGON2ID_OPTIONS: Options = Object.freeze({
  algorithm: 2, // Algorithm.Argon2id (a const enum, which isolated modules cannot import)
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
  outputLen: 32,
});

/** The argon2id PHC string of a password, with a fresh random salt. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2ID_OPTIONS);
}

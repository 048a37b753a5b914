// The users of the development identity provider, from `users:` in its
// config or in a `users_file`: a login name, an argon2id password hash and
// the claims the provider vouches for (email, name, groups).
import { parseOptions } from '@node-rs/argon2';
import { Options, readBool, readString, readStringList } from '../config/fields.js';
import type { Findings, Located } from '../config/findings.js';
import type { DevIdpUser } from './types.js';

const USER_KEYS = new Set(['username', 'password_hash', 'email', 'email_verified', 'name', 'groups']);

/** True when `hash` is a well-formed argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). */
export function isArgon2idHash(hash: string): boolean {
  if (!hash.startsWith('$argon2id$')) return false;
  try {
    parseOptions(hash);
    return true;
  } catch {
    return false;
  }
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** The key users sign in with: usernames are matched without regard to case. */
export function loginKey(username: string): string {
  return username.toLowerCase();
}

function readUsername(f: Findings, loc: Located): string | undefined {
  const text = readString(f, loc);
  if (text === undefined) return undefined;
  if (text === '' || text.length > 256 || text.trim() !== text || hasControlCharacter(text)) {
    f.error(loc, 'must be 1 to 256 characters without control characters or surrounding spaces');
    return undefined;
  }
  return text;
}

function readEmail(f: Findings, loc: Located): string | undefined {
  const text = readString(f, loc);
  if (text === undefined) return undefined;
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1 || /\s/.test(text) || hasControlCharacter(text)) {
    f.error(loc, 'must be an email address such as alice@example.com');
    return undefined;
  }
  return text;
}

function readPasswordHash(f: Findings, loc: Located): string | undefined {
  const text = readString(f, loc);
  if (text === undefined) return undefined;
  if (!isArgon2idHash(text)) {
    // The value is not quoted: someone may have pasted a password here.
    f.error(loc, 'must be an argon2id hash ($argon2id$...), as printed by `postern hash-password`');
    return undefined;
  }
  return text;
}

function decodeUser(f: Findings, item: Located): DevIdpUser | undefined {
  if (item.node.kind !== 'map') {
    f.error(item, 'must be a map with username, password_hash, email, name and groups');
    return undefined;
  }
  const o = Options.of(item.node, item.key);
  for (const entry of o.entries.values()) if (!USER_KEYS.has(entry.name)) f.error(entry.loc, 'unknown key');
  const required = (name: string): Located | undefined => {
    const loc = o.get(name);
    if (loc === undefined) f.errorAt({ file: item.node.file, line: item.node.line, key: `${item.key}.${name}` }, 'is required');
    return loc;
  };
  const usernameLoc = required('username');
  const hashLoc = required('password_hash');
  const emailLoc = required('email');
  const username = usernameLoc && readUsername(f, usernameLoc);
  const passwordHash = hashLoc && readPasswordHash(f, hashLoc);
  const email = emailLoc && readEmail(f, emailLoc);
  const verifiedLoc = o.get('email_verified');
  const emailVerified = verifiedLoc === undefined ? true : readBool(f, verifiedLoc);
  const nameLoc = o.get('name');
  const name = nameLoc === undefined ? username : readString(f, nameLoc);
  const groupsLoc = o.get('groups');
  const groups = groupsLoc === undefined ? [] : readStringList(f, groupsLoc);
  if (username === undefined || passwordHash === undefined || email === undefined) return undefined;
  if (emailVerified === undefined || name === undefined || groups === undefined) return undefined;
  return { username, passwordHash, email, emailVerified, name, groups };
}

/**
 * The users of a `users` list. `seen` holds the login keys of users already
 * decoded (from another file), so a name is never defined twice.
 */
export function decodeUsers(f: Findings, loc: Located, seen: Map<string, string>): DevIdpUser[] {
  if (loc.node.kind !== 'list') {
    f.error(loc, 'must be a list of users');
    return [];
  }
  const users: DevIdpUser[] = [];
  for (const [i, node] of loc.node.items.entries()) {
    const item = { node, key: `${loc.key}[${i}]` };
    const user = decodeUser(f, item);
    if (user === undefined) continue;
    const key = loginKey(user.username);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      f.error(item, `the username is already defined at ${earlier}`);
      continue;
    }
    seen.set(key, `${item.node.file}:${item.node.line}`);
    users.push(user);
  }
  return users;
}

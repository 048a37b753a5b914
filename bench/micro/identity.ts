// Per-request cost of the identity given to upstreams. Run by hand after a
// build:
//   node dist/bench/micro/identity.js
// Each case runs warm-up iterations first, then several timed rounds; the
// table shows the median and best round in ns/op. "miss" cases cycle
// through more sessions than the signer keeps, so every call signs.
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Identity } from '../../src/authenticate/sessions.js';
import type { SessionData } from '../../src/authenticate/records.js';
import type { Route } from '../../src/config/types.js';
import { AssertionSigner } from '../../src/identity/assertion.js';
import { claimHeadersFromList } from '../../src/identity/claim-headers.js';
import { CompactSigner } from '../../src/identity/jws.js';
import { deriveSigningKey, parseSigningKeys, type SigningKey } from '../../src/identity/signing-keys.js';
import { compileHeaderTemplate } from '../../src/identity/templates.js';
import { appendIdentityHeaders, templateContext } from '../../src/identity/upstream-identity.js';
import { measure, measureAsync, ROUNDS, sinkBit } from './measure.js';

const NOW = Date.now();

const esKey = deriveSigningKey(Buffer.alloc(32, 1));
const rsaParsed = parseSigningKeys(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
if (!rsaParsed.ok) throw new Error(rsaParsed.error);
const rsaKey = rsaParsed.keys[0] as SigningKey;

// A realistic session: an email-domain user in a handful of groups.
function identity(sessionId: string): Identity {
  const claims = { email: 'ada.lovelace@corp.example.com', name: 'Ada Lovelace', groups: ['engineering', 'platform', 'oncall', 'staff'], department: 'R&D' };
  const data: SessionData = {
    userId: 'CiQ5OGQ4YjQ1Ny1lMGI2LTRhOGQtOTk0Yi1hYjJiNTc4NmU2NjYSBWxvY2Fs',
    idpId: 'idp',
    issuedAt: NOW,
    expiresAt: NOW + 3_600_000,
    idToken: { raw: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', issuer: 'https://idp.example.com', subject: 'u', issuedAt: 0, expiresAt: 0 },
    oauth: { accessToken: 'ya29.a0AfH6SMBx-access-token', tokenType: 'Bearer', expiresAt: 0, refreshToken: '' },
    claims,
    refreshedAt: 0,
  };
  return {
    kind: 'session',
    sessionId,
    userId: data.userId,
    email: claims.email,
    name: claims.name,
    groups: claims.groups,
    claims,
    session: { type: 'session', id: sessionId, version: 1, data, modifiedAt: NOW, expiresAt: data.expiresAt },
  };
}

const route = { jwtIssuerFormat: null } as unknown as Route;
const claimHeaders = claimHeadersFromList(['email', 'groups', 'department']);
const SESSIONS = 64;
const sessions = Array.from({ length: SESSIONS }, (_, i) => identity(`session-${i}`));
const payload = JSON.stringify({ aud: 'app3.corp.example.com', email: 'ada.lovelace@corp.example.com', exp: 1_700_000_300, groups: ['engineering'], iat: 1_700_000_000 });

const esCompact = new CompactSigner(esKey);
const rsCompact = new CompactSigner(rsaKey);
const esSigner = new AssertionSigner([esKey], { claimHeaders, issuerFormat: 'hostOnly' });
const rsSigner = new AssertionSigner([rsaKey], { claimHeaders, issuerFormat: 'hostOnly' });
// Fewer slots than sessions cycled: every call is a miss.
const esMissing = new AssertionSigner([esKey], { claimHeaders, issuerFormat: 'hostOnly', maxSessions: SESSIONS / 2 });
const rsMissing = new AssertionSigner([rsaKey], { claimHeaders, issuerFormat: 'hostOnly', maxSessions: SESSIONS / 2 });

const hitIdentity = identity('session-hit');
const signed = esSigner.assertionFor(hitIdentity, route, 'app3.corp.example.com', NOW);
const clientHeaders = ['host', 'app3.corp.example.com', 'accept', '*/*', 'user-agent', 'curl/8.5.0'];
const bearer = compileHeaderTemplate('Bearer ${pomerium.access_token}');
const joseKey = esKey.privateKey;

const results = [
  measure('CompactSigner.sign ES256 (node:crypto sync)', 5_000, () => esCompact.sign(payload)),
  measure('CompactSigner.sign RS256-2048 (node:crypto sync)', 500, () => rsCompact.sign(payload)),
  measure('assertionFor, miss, ES256 (claims + sign)', 5_000, (i) => esMissing.assertionFor(sessions[i % SESSIONS]!, route, 'app3.corp.example.com', NOW)),
  measure('assertionFor, miss, RS256', 500, (i) => rsMissing.assertionFor(sessions[i % SESSIONS]!, route, 'app3.corp.example.com', NOW)),
  measure('assertionFor, cache hit, ES256', 500_000, () => esSigner.assertionFor(hitIdentity, route, 'app3.corp.example.com', NOW)),
  measure('assertionFor, cache hit, RS256', 500_000, () => rsSigner.assertionFor(hitIdentity, route, 'app3.corp.example.com', NOW)),
  measure('appendIdentityHeaders (3 claim headers)', 500_000, () => {
    const out: string[] = [];
    appendIdentityHeaders(out, signed, clientHeaders);
    return out;
  }),
  measure('templateContext + render "Bearer ${pomerium.access_token}"', 500_000, () => bearer.render(templateContext(hitIdentity, signed, clientHeaders))),
  await measureAsync('jose SignJWT ES256 (for comparison only)', 2_000, () =>
    new SignJWT({ email: 'ada.lovelace@corp.example.com' }).setProtectedHeader({ alg: 'ES256', kid: esKey.kid, typ: 'JWT' }).sign(joseKey),
  ),
];

const width = Math.max(...results.map((r) => r.name.length));
console.log(`${'case'.padEnd(width)}  ${'median ns/op'.padStart(12)}  ${'best ns/op'.padStart(10)}`);
for (const r of results) console.log(`${r.name.padEnd(width)}  ${r.median.toFixed(1).padStart(12)}  ${r.best.toFixed(1).padStart(10)}`);
console.log(`(${ROUNDS} timed rounds per case, node ${process.version}; sink ${sinkBit()})`);

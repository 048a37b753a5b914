// The identity a configuration gives its upstreams, end to end over the
// pieces: a loaded config → keys, JWKS, per-route plans → the headers of one
// request, verified the way an upstream verifies them.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { appendIdentityHeaders, planRoute, templateContext, UpstreamIdentity } from '../../src/identity/upstream-identity.js';
import { deriveSigningKey } from '../../src/identity/signing-keys.js';
import { base, Fixture } from '../config/support.js';
import { serviceAccountIdentity, sessionIdentity } from './support.js';

const fx = new Fixture();
after(() => fx.remove());

const NOW = 1_700_000_000_000;
const CONFIG = `${base()}pass_identity_headers: false
jwt_claims_headers:
  X-Email: email
  X-Dept: dept
routes:
  - from: https://app.example.com
    to: http://127.0.0.1:9000
    allow_any_authenticated_user: true
    pass_identity_headers: true
    set_request_headers:
      X-Static: fixed
      Authorization: Bearer \${pomerium.access_token}
  - from: https://jwt.example.com
    to: http://127.0.0.1:9000
    allow_any_authenticated_user: true
    set_request_headers:
      X-Token: \${pomerium.jwt}
  - from: https://plain.example.com
    to: http://127.0.0.1:9000
    allow_any_authenticated_user: true
`;

describe('UpstreamIdentity', () => {
  const { config } = fx.load(CONFIG);
  const identity = new UpstreamIdentity(config);
  const [app, jwtRoute, plain] = config.routes as [(typeof config.routes)[0], (typeof config.routes)[0], (typeof config.routes)[0]];

  it('signs with the key derived from shared_secret and publishes it', () => {
    assert.deepEqual(identity.keys.map((k) => k.kid), [deriveSigningKey(config.sharedSecret).kid]);
    assert.deepEqual(JSON.parse(identity.jwks.body).keys, [identity.keys[0]!.jwk]);
    assert.deepEqual([...identity.claimHeaderNames], ['x-email', 'x-dept']);
  });

  it('plans a route: identity headers, templates, whether an assertion is needed', () => {
    assert.deepEqual(
      [app, jwtRoute, plain].map((r) => {
        const p = planRoute(r, config.passIdentityHeaders);
        return [p.passIdentityHeaders, p.dynamicTemplates, p.needsAssertion, p.templates.map((t) => t.constant)];
      }),
      [
        [true, true, true, ['fixed', null]],
        [false, true, true, [null]],
        [false, false, false, []],
      ],
    );
  });

  it('gives an upstream an assertion it verifies, the claim headers and the carried-over assertion', async () => {
    const who = sessionIdentity({ email: 'ada@example.com', claims: { dept: ['eng', 'ops'] } });
    const signed = identity.signer.assertionFor(who, app, 'app.example.com', NOW);
    const out: string[] = [];
    appendIdentityHeaders(out, signed, ['x-pomerium-jwt-assertion', 'PREVIOUS.HOP.JWT']);
    assert.deepEqual(out, [
      'x-pomerium-jwt-assertion',
      signed.token,
      'x-pomerium-jwt-assertion-for',
      'PREVIOUS.HOP.JWT',
      'x-email',
      'ada@example.com',
      'x-dept',
      'eng,ops',
    ]);
    const { payload } = await jwtVerify(signed.token, createLocalJWKSet(JSON.parse(identity.jwks.body)), {
      issuer: 'app.example.com',
      audience: 'app.example.com',
      currentDate: new Date(NOW),
    });
    assert.equal(payload.dept, 'eng,ops');
  });

  it('renders the route templates from the session and the signed assertion', () => {
    const who = sessionIdentity({ accessToken: 'AT-123', idToken: 'IDT-456' });
    const signed = identity.signer.assertionFor(who, jwtRoute, 'jwt.example.com', NOW);
    const ctx = templateContext(who, signed, []);
    assert.equal(planRoute(app, config.passIdentityHeaders).templates[1]!.render(ctx), 'Bearer AT-123');
    assert.equal(planRoute(jwtRoute, config.passIdentityHeaders).templates[0]!.render(ctx), signed.token);
    assert.deepEqual(templateContext(serviceAccountIdentity(), null, []), { accessToken: '', idToken: '', jwt: '', headers: [], clientCertificate: null });
  });
});

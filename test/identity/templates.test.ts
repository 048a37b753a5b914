import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { commaSeparatedList, compileHeaderTemplate, parseHeaderTemplate, type TemplateContext } from '../../src/identity/templates.js';

/** Renders with Pomerium's test visitor: each reference as <a,b,c>. */
function visit(text: string): string {
  return parseHeaderTemplate(text)
    .map((p) => (typeof p === 'string' ? p : `<${p.join(',')}>`))
    .join('');
}

const CONTEXT: TemplateContext = {
  accessToken: 'ACCESS_TOKEN',
  idToken: 'ID_TOKEN',
  jwt: 'eyJ.JWT.sig',
  headers: ['host', 'from.example.com', 'x-incoming-header', 'INCOMING'],
  clientCertificate: null,
};

function render(text: string, ctx: Partial<TemplateContext> = {}): string {
  return compileHeaderTemplate(text).render({ ...CONTEXT, ...ctx });
}

// pom:internal/headertemplate/headertemplate_test.go TestRender, case for case.
describe('parseHeaderTemplate (ported from headertemplate_test.go)', () => {
  const cases: [string, string][] = [
    ['x $$ y $$ z', 'x $ y $ z'],
    ['${x.y.z}', '<x,y,z>'],
    ['${   x   .\ty .  z }', '<x,y,z>'],
    ['${x["y"].z}', '<x,y,z>'],
    ['${x["', '${x["'],
    ['${', '${'],
    ['${}', '${}'],
    ['${x["\\\\"]}', '<x,\\>'],
    ['${x["\\""]}', '<x,">'],
    ['${pomerium.access_token}', '<pomerium,access_token>'],
    ['$pomerium.access_token', '<pomerium,access_token>'],
    ['${pomerium.client_cert_fingerprint}', '<pomerium,client_cert_fingerprint>'],
    ['$pomerium.client_cert_fingerprint', '<pomerium,client_cert_fingerprint>'],
    ['${pomerium.id_token}', '<pomerium,id_token>'],
    ['$pomerium.id_token', '<pomerium,id_token>'],
    ['${pomerium.jwt}', '<pomerium,jwt>'],
    ['$pomerium.jwt', '<pomerium,jwt>'],
    ['${pomerium.request.headers["X-Access-Token"]}', '<pomerium,request,headers,X-Access-Token>'],
    ['$pomerium.request.headers.X-Access-Token', '<pomerium,request,headers,X-Access-Token>'],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => assert.equal(visit(input), expected));
  }

  it('"before $pomerium.jwt after" and "before ${   pomerium  .  jwt  } after" render the jwt between the words', () => {
    assert.equal(render('before $pomerium.jwt after', { jwt: 'JWT' }), 'before JWT after');
    assert.equal(render('before ${   pomerium  .  jwt  } after', { jwt: 'JWT' }), 'before JWT after');
  });

  it('keeps a $ that starts no well-formed variable as text, as the Go parser backtracks', () => {
    const cases: [string, string][] = [
      ['$', '$'],
      ['a$', 'a$'],
      ['$ x', '$ x'],
      ['$a.', '$a.'],
      ['$pomerium.jwt.', '$pomerium.jwt.'],
      ['${a.}', '${a.}'],
      ['${a[b]}', '${a[b]}'],
      ['${a["b"}', '${a["b"}'],
      ['$$$', '$$'],
      ['$$pomerium.jwt', '$pomerium.jwt'],
      ['100$', '100$'],
    ];
    for (const [input, expected] of cases) assert.equal(visit(input), expected, input);
  });

  it('never loses or invents text outside variables', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', ' ', '-', '.', '"', '[', ']', '{', '}', 'é') }), (s) => assert.equal(visit(s), s)));
  });
});

// pom:authorize/evaluator/headers_evaluator_test.go "set_request_headers" and its neighbours.
describe('compileHeaderTemplate lookups (ported from headers_evaluator_test.go)', () => {
  it('renders set_request_headers as Pomerium does', () => {
    const cases: [string, string][] = [
      ['CUSTOM_VALUE', 'CUSTOM_VALUE'],
      ['${pomerium.id_token}', 'ID_TOKEN'],
      ['${pomerium.access_token}', 'ACCESS_TOKEN'],
      ['Bearer ${pomerium.jwt}', 'Bearer eyJ.JWT.sig'],
      ['escaped $$dollar sign', 'escaped $dollar sign'],
      ['From-Incoming ${pomerium.request.headers["X-Incoming-Header"]}', 'From-Incoming INCOMING'],
      ['${pomerium.request.headers["x-incoming-header"]}', 'INCOMING'],
      ['$pomerium.request.headers.X-Incoming-Header.extra', 'INCOMING'],
      ['${pomerium.request.headers["X-Absent"]}', ''],
      ['$HOME', ''],
      ['${pomerium.jwt.x}', ''],
      ['${pomerium.request.headers}', ''],
      ['${pomerium.client_cert_fingerprint}', ''],
    ];
    for (const [template, expected] of cases) assert.equal(render(template), expected, template);
  });

  it('"no repeated substitution": a looked-up value that looks like a template stays as it is', () => {
    assert.equal(render('${pomerium.id_token}', { idToken: '$pomerium.access_token' }), '$pomerium.access_token');
  });

  it('"no client cert" renders the certificate values empty; with one, SANs are comma-joined', () => {
    for (const t of ['${pomerium.client_cert_san_dns}', '${pomerium.client_cert_san_email}', '${pomerium.client_cert_fingerprint}']) assert.equal(render(t), '');
    const clientCertificate = {
      fingerprint: '3febe6467787e93f0a01030e0803072feaa710f724a9dc74de05cfba3d4a6d23',
      dnsNames: ['a.client3.example.com', 'b.client3.example.com'],
      emailAddresses: ['client4@example.com'],
    };
    assert.equal(render('${pomerium.client_cert_san_dns}', { clientCertificate }), 'a.client3.example.com,b.client3.example.com');
    assert.equal(render('${pomerium.client_cert_san_email}', { clientCertificate }), 'client4@example.com');
    assert.equal(render('${pomerium.client_cert_fingerprint}', { clientCertificate }), clientCertificate.fingerprint);
  });

  it('joins a repeated request header with a comma', () => {
    assert.equal(render('${pomerium.request.headers["X-A"]}', { headers: ['x-a', '1', 'x-b', '2', 'x-a', '3'] }), '1,3');
  });

  it('renders a looked-up value that would break the header (CR, LF, NUL) as empty', () => {
    assert.equal(render('t=${pomerium.access_token}', { accessToken: 'a\r\nX-Injected: 1' }), 't=');
    assert.equal(render('${pomerium.id_token}', { idToken: 'a\u0000b' }), '');
  });

  it('marks constant templates and those that need the assertion', () => {
    assert.equal(compileHeaderTemplate('plain $$5').constant, 'plain $5');
    assert.equal(compileHeaderTemplate('$HOME/bin').constant, '/bin');
    assert.equal(compileHeaderTemplate('${pomerium.id_token}').constant, null);
    assert.equal(compileHeaderTemplate('Bearer ${pomerium.jwt}').usesJwt, true);
    assert.equal(compileHeaderTemplate('Bearer ${pomerium.id_token}').usesJwt, false);
  });
});

// pom:authorize/evaluator/headers_evaluator_test.go TestCommaSeparatedList.
describe('commaSeparatedList', () => {
  const cases: [string, string[], string][] = [
    ['empty', [], ''],
    ['ok', ['foo', 'bar', 'baz'], 'foo,bar,baz'],
    ['scrubbed_1', ['foo', 'bar', ',baz', 'quux', 'fizz,buzz'], 'foo,bar,quux'],
    ['scrubbed_2', ['foo,', 'bar', 'baz', 'qu,ux', 'fizzbuzz'], 'bar,baz,fizzbuzz'],
    ['all scrubbed', ['foo,', ',bar', 'ba,z'], ''],
  ];
  for (const [label, input, expected] of cases) {
    it(label, () => {
      const copy = [...input];
      assert.equal(commaSeparatedList(input), expected);
      assert.deepEqual(input, copy);
    });
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClientCertificateInput } from '../../../../src/authorize/input.js';
import { evaluate, NOTHING, type Verdict } from '../support.js';

const POLICY = 'deny:\n  or:\n    - invalid_client_certificate: true\n';

function certificate(presented: boolean, valid: boolean): ClientCertificateInput {
  return { presented, valid, fingerprint: '', spkiHash: '', sanDns: [], sanEmail: [], sanUri: [] };
}

const cases: ReadonlyArray<readonly [string, ClientCertificateInput | null, Verdict]> = [
  ['no client certificate support on the connection', null, [true, ['client-certificate-required']]],
  ['not presented', certificate(false, false), [true, ['client-certificate-required']]],
  ['invalid', certificate(true, false), [true, ['invalid-client-certificate']]],
  ['valid', certificate(true, true), [false, ['valid-client-certificate']]],
];

for (const [name, cert, deny] of cases) {
  test(`invalid_client_certificate: ${name}`, () => {
    assert.deepEqual(evaluate(POLICY, { certificate: cert }), { allow: NOTHING, deny });
  });
}

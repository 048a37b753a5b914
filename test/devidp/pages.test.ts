import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { AUTO_SIGN_OUT_SCRIPT, contentSecurityPolicy, loginPage, logoutPage } from '../../src/devidp/pages.js';
import { escapeHtml } from '../../src/frontend/html.js';


test('the sign-in page escapes every value it shows', () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.string(), (clientId, username, error) => {
      const html = loginPage({ uid: 'abc', clientId, username, error });
      return html.includes(escapeHtml(clientId)) && html.includes(`value="${escapeHtml(username)}"`) && html.includes(escapeHtml(error));
    }),
  );
  assert.ok(!loginPage({ uid: 'x', clientId: '<script>', username: '', error: null }).includes('<script>'));
});

test('the self-confirming sign-out page is the only one with a script, allowed by its hash', () => {
  const hash = createHash('sha256').update(AUTO_SIGN_OUT_SCRIPT).digest('base64');
  assert.ok(contentSecurityPolicy(AUTO_SIGN_OUT_SCRIPT).includes(`script-src 'sha256-${hash}'`));
  assert.ok(!contentSecurityPolicy().includes('script-src'), 'default-src none forbids scripts');
  assert.ok(logoutPage('<form id="op.logoutForm"></form>', true).includes(`<script>${AUTO_SIGN_OUT_SCRIPT}</script>`));
  assert.ok(!logoutPage('<form id="op.logoutForm"></form>', false).includes('<script>'));
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopbackHost } from '../../src/net/loopback.js';

test('loopback hosts: 127/8, ::1, localhost and *.localhost', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', 'app.localhost']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['10.0.0.1', '128.0.0.1', '::2', 'localhost.example.com', 'evil.com', '127.0.0.1.nip.io', '']) assert.equal(isLoopbackHost(h), false, h);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientAddress } from '../../src/proxy/client-address.js';
import { headerValue, joinedHeader } from '../../src/proxy/request.js';

const headers = ['host', 'a', 'x-forwarded-for', '198.51.100.7', 'accept', '*/*', 'x-forwarded-for', '203.0.113.9, 10.0.0.1'];

test('headerValue is the first value; joinedHeader joins every value in order', () => {
  assert.equal(headerValue(headers, 'x-forwarded-for'), '198.51.100.7');
  assert.equal(joinedHeader(headers, 'x-forwarded-for'), '198.51.100.7,203.0.113.9, 10.0.0.1');
  assert.equal(joinedHeader(headers, 'missing'), '');
});

test('trusted hops count across every X-Forwarded-For header, as one list', () => {
  // Two trusted hops: the second address from the right of the combined list.
  assert.equal(clientAddress(joinedHeader(headers, 'x-forwarded-for'), '127.0.0.1', 2), '203.0.113.9');
  assert.equal(clientAddress(joinedHeader(headers, 'x-forwarded-for'), '127.0.0.1', 3), '198.51.100.7');
});

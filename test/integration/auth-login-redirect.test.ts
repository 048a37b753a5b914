// Who is sent to sign in and who gets 401: only a browser navigating to a
// page can follow the redirect to the provider and back; scripts, API
// clients, WebSocket upgrades, form posts and programs presenting a refused
// credential get 401 with the JSON or HTML error and
// `x-pomerium-intercepted-response: true`. Nobody reaches the upstream.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rawRequest, headerValue } from '../helpers/client.js';
import { Browser } from '../helpers/browser.js';
import { startWithFakeIdp, type FakeIdpSetup } from '../helpers/auth-proxy.js';

let s: FakeIdpSetup;

before(async () => {
  s = await startWithFakeIdp();
});

after(async () => {
  await s?.close();
});

interface Case {
  readonly name: string;
  readonly method?: string;
  /** Replace the browser's navigation headers; `null` removes one. */
  readonly headers: Readonly<Record<string, string | null>>;
  readonly body?: string;
  readonly expect: 302 | 401;
}

const CASES: readonly Case[] = [
  { name: 'a browser navigation', headers: {}, expect: 302 },
  { name: 'a HEAD navigation', method: 'HEAD', headers: {}, expect: 302 },
  { name: 'no Accept and no Sec-Fetch-* (old browsers, Pomerium redirects these)', headers: { accept: null, 'sec-fetch-mode': null, 'sec-fetch-dest': null, 'sec-fetch-site': null }, expect: 302 },
  { name: 'Accept: */* (curl)', headers: { accept: '*/*', 'sec-fetch-mode': null }, expect: 302 },
  { name: 'HTML preferred over JSON by quality', headers: { accept: 'application/json;q=0.9, text/html' }, expect: 302 },
  { name: 'Accept: application/json', headers: { accept: 'application/json', 'sec-fetch-mode': null }, expect: 401 },
  { name: 'JSON preferred over HTML by quality', headers: { accept: 'text/html;q=0.5, application/json' }, expect: 401 },
  { name: 'fetch() from a page (Sec-Fetch-Mode: cors)', headers: { 'sec-fetch-mode': 'cors' }, expect: 401 },
  { name: 'a subresource (Sec-Fetch-Mode: no-cors)', headers: { 'sec-fetch-mode': 'no-cors' }, expect: 401 },
  { name: 'XMLHttpRequest (X-Requested-With)', headers: { 'x-requested-with': 'XMLHttpRequest' }, expect: 401 },
  {
    name: 'a form POST',
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'a=1',
    expect: 401,
  },
  { name: 'a refused Authorization: Pomerium credential', headers: { authorization: 'Pomerium not-a-token' }, expect: 401 },
  { name: 'a refused Authorization: Bearer Pomerium- credential', headers: { authorization: 'Bearer Pomerium-not-a-token' }, expect: 401 },
  { name: 'a refused X-Pomerium-Authorization credential', headers: { 'x-pomerium-authorization': 'not-a-token' }, expect: 401 },
];

describe('302 to sign in for browser navigations, 401 for everything else', () => {
  for (const c of CASES) {
    test(`${c.name} → ${c.expect}`, async () => {
      const url = s.px.app('/page?x=1');
      const page = await new Browser().navigate(url, { method: c.method ?? 'GET', headers: c.headers, follow: false, ...(c.body === undefined ? {} : { body: c.body }) });
      const { status } = page;
      const location = page.headers.location;
      const body = page.text();
      const contentType = String(page.headers['content-type'] ?? '');
      assert.equal(status, c.expect, `${c.name}: ${status} ${body.slice(0, 200)}`);
      if (c.expect === 302) {
        const target = new URL(location ?? '');
        assert.equal(`${target.origin}${target.pathname}`, s.px.auth('/.pomerium/sign_in'));
        assert.equal(target.searchParams.get('pomerium_redirect_uri'), url);
      } else {
        assert.equal(location, undefined);
        assert.equal(page.headers['x-pomerium-intercepted-response'], 'true');
        if (contentType.startsWith('application/json')) {
          const err = JSON.parse(body) as Record<string, unknown>;
          assert.equal(err.status, 401);
          assert.equal(typeof err.request_id, 'string');
        }
      }
    });
  }

  test('an API client gets a JSON 401 naming the request id', async () => {
    const page = await new Browser().fetch(s.px.app('/api/items'), { headers: { accept: 'application/json' } });
    assert.equal(page.status, 401);
    assert.match(String(page.headers['content-type']), /^application\/json/);
    assert.equal(page.headers['x-pomerium-intercepted-response'], 'true');
    const err = page.json<Record<string, unknown>>();
    assert.equal(err.request_id, page.headers['x-request-id']);
  });

  test('a WebSocket upgrade gets 401, not a redirect', async () => {
    const res = await rawRequest(
      s.px.port,
      [
        'GET /socket HTTP/1.1',
        `Host: app.localhost:${s.px.port}`,
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        `Origin: http://app.localhost:${s.px.port}`,
        '',
        '',
      ].join('\r\n'),
    );
    assert.equal(res.kind, 'response');
    if (res.kind !== 'response') return;
    assert.equal(res.status, 401);
    assert.equal(headerValue(res.headers, 'location'), undefined);
  });

  test('none of these reached the upstream', () => {
    assert.equal(s.px.upstream.requests.length, 0);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { signedUrlReplayKey, signUrl, verifySignedUrl } from '../../src/authenticate/signed-url.js';

const key = Buffer.alloc(32, 0x5a);
const NOW = 1_700_000_000_123;
const NOW_S = 1_700_000_000;

function signed(href: string, nowMs = NOW): URL {
  return signUrl(new URL(href), key, nowMs);
}

/** The URL as the receiving server rebuilds it from the request: scheme, Host, raw path and query. */
function received(url: URL): URL {
  return new URL(`${url.protocol}//${url.host}${url.pathname}${url.search}`);
}

/** Replaces the raw query, keeping everything else. */
function withQuery(url: URL, query: string): URL {
  const out = new URL(url.href);
  out.search = query;
  return out;
}

describe('signUrl', () => {
  it('adds issued, expiry = issued + 300 s and a SHA-512/256 signature over the sorted URL and the times', () => {
    const url = signed('https://auth.example.com/.pomerium/sign_in?z=1&pomerium_redirect_uri=https%3A%2F%2Fapp.example.com%2F&a=2');
    assert.equal(url.searchParams.get('pomerium_issued'), String(NOW_S));
    assert.equal(url.searchParams.get('pomerium_expiry'), String(NOW_S + 300));
    const message =
      'https://auth.example.com/.pomerium/sign_in?a=2&pomerium_expiry=1700000300&pomerium_issued=1700000000' +
      '&pomerium_redirect_uri=https%3A%2F%2Fapp.example.com%2F&z=1' +
      '1700000000 1700000300';
    assert.equal(url.searchParams.get('pomerium_signature'), createHmac('sha512-256', key).update(message).digest('base64url'));
  });

  it('does not change its argument, and keeps the fragment out of the signature', () => {
    const input = new URL('https://a.example.com/p?x=1#frag');
    const out = signUrl(input, key, NOW);
    assert.equal(input.href, 'https://a.example.com/p?x=1#frag');
    assert.equal(out.hash, '#frag');
    assert.equal(verifySignedUrl(received(out), key, NOW), 'ok');
  });

  it('replaces earlier signing parameters when signing again', () => {
    const again = signUrl(signed('https://a.example.com/p?x=1'), key, NOW + 10_000);
    assert.equal(again.searchParams.getAll('pomerium_signature').length, 1);
    assert.equal(again.searchParams.get('pomerium_issued'), String(NOW_S + 10));
    assert.equal(verifySignedUrl(again, key, NOW + 10_000), 'ok');
  });

  it('refuses a URL that repeats a pomerium_* parameter', () => {
    assert.throws(() => signed('https://a.example.com/?pomerium_redirect_uri=a&pomerium_redirect_uri=b'), TypeError);
  });
});

describe('verifySignedUrl', () => {
  const base = signed('https://auth.example.com/.pomerium/sign_in?pomerium_redirect_uri=https%3A%2F%2Fapp.example.com%2Fx&pomerium_idp_id=abc');

  it('accepts the URL as signed and as the server receives it', () => {
    assert.equal(verifySignedUrl(base, key, NOW), 'ok');
    assert.equal(verifySignedUrl(received(base), key, NOW), 'ok');
  });

  it('does not care about the order of names, but does about the order of one name\'s values', () => {
    const twice = signed('https://a.example.com/?v=1&v=2');
    assert.equal(verifySignedUrl(withQuery(twice, twice.search.replace('v=1&v=2', 'v=2&v=1')), key, NOW), 'invalid');

    const reversed = [...new URLSearchParams(base.search)].reverse();
    assert.equal(verifySignedUrl(withQuery(base, new URLSearchParams(reversed).toString()), key, NOW), 'ok');
  });

  describe('time window (one minute leeway each way)', () => {
    const cases: [label: string, offsetS: number, expected: string][] = [
      ['at issue', 0, 'ok'],
      ['a minute before issue (clock skew)', -60, 'ok'],
      ['just over a minute before issue', -61, 'invalid'],
      ['at expiry', 300, 'ok'],
      ['a minute after expiry', 360, 'ok'],
      ['just over a minute after expiry', 361, 'expired'],
      ['a day later', 86_400, 'expired'],
    ];
    for (const [label, offset, expected] of cases) {
      it(`${label} → ${expected}`, () => {
        assert.equal(verifySignedUrl(base, key, NOW_S * 1000 + offset * 1000), expected);
      });
    }
  });

  const tampered: [label: string, change: (u: URL) => URL][] = [
    ['another key', (u) => u],
    ['a changed parameter', (u) => withQuery(u, u.search.replace('idp_id=abc', 'idp_id=abd'))],
    ['an added parameter', (u) => withQuery(u, u.search + '&extra=1')],
    ['an added empty parameter', (u) => withQuery(u, u.search + '&extra')],
    ['a removed parameter', (u) => withQuery(u, u.search.replace(/pomerium_idp_id=abc&?/, ''))],
    ['a changed redirect', (u) => withQuery(u, u.search.replace('app.example.com', 'evil.example.com'))],
    ['a changed issue time', (u) => withQuery(u, u.search.replace(`pomerium_issued=${NOW_S}`, `pomerium_issued=${NOW_S + 1}`))],
    ['a changed expiry', (u) => withQuery(u, u.search.replace(`pomerium_expiry=${NOW_S + 300}`, `pomerium_expiry=${NOW_S + 3000}`))],
    ['a changed path', (u) => new URL(u.href.replace('/sign_in', '/sign_out'))],
    ['a changed host', (u) => new URL(u.href.replace('auth.example.com', 'auth2.example.com'))],
    ['a port added', (u) => new URL(u.href.replace('auth.example.com', 'auth.example.com:8443'))],
    ['another scheme', (u) => new URL(u.href.replace('https:', 'http:'))],
    ['no signature', (u) => withQuery(u, u.search.replace(/&?pomerium_signature=[^&]*/, ''))],
    ['an empty signature', (u) => withQuery(u, u.search.replace(/pomerium_signature=[^&]*/, 'pomerium_signature='))],
    ['a truncated signature', (u) => withQuery(u, u.search.replace(/(pomerium_signature=[^&]*)./, '$1'))],
    ['a padded signature', (u) => withQuery(u, u.search.replace(/(pomerium_signature=[^&]*)/, '$1%3D'))],
    ['a duplicated signature', (u) => withQuery(u, u.search + '&pomerium_signature=' + u.searchParams.get('pomerium_signature'))],
    ['a duplicated issue time', (u) => withQuery(u, u.search + `&pomerium_issued=${NOW_S}`)],
    ['a duplicated redirect', (u) => withQuery(u, u.search + '&pomerium_redirect_uri=https%3A%2F%2Fevil.example.com')],
    ['no issue time', (u) => withQuery(u, u.search.replace(/pomerium_issued=\d+&?/, ''))],
    ['a signed-looking time with a sign', (u) => withQuery(u, u.search.replace(`pomerium_issued=${NOW_S}`, `pomerium_issued=%2B${NOW_S}`))],
  ];
  for (const [label, change] of tampered) {
    it(`refuses ${label}`, () => {
      const useKey = label === 'another key' ? Buffer.alloc(32, 0x5b) : key;
      assert.equal(verifySignedUrl(change(base), useKey, NOW), 'invalid');
    });
  }

  it('says expired only of an authentic URL', () => {
    const forged = withQuery(base, base.search.replace('idp_id=abc', 'idp_id=abd'));
    assert.equal(verifySignedUrl(forged, key, NOW + 3_600_000), 'invalid');
    assert.equal(verifySignedUrl(base, key, NOW + 3_600_000), 'expired');
  });

  it('refuses a URL signed to be issued in the future (even with a valid MAC)', () => {
    assert.equal(verifySignedUrl(signed('https://a.example.com/', NOW + 61_000), key, NOW - 999), 'invalid');
  });

  it('round-trips any query, whatever its encoding, order or content', () => {
    const nameArb = fc.string({ unit: fc.constantFrom('a', 'b', '_', ' ', '+', '%', '&', '=', 'é', '/', '?', '#'), minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(nameArb, fc.string({ unit: 'binary', maxLength: 8 })), { maxLength: 6 }),
        fc.constantFrom('/', '/.pomerium/callback/', '/a%20b/c', '/é'),
        fc.integer({ min: 0, max: 2_000_000_000_000 }),
        (pairs, path, now) => {
          const url = new URL(`https://app.example.com:8443${path}`);
          for (const [n, v] of pairs) url.searchParams.append(n, v);
          const out = signUrl(url, key, now);
          assert.equal(verifySignedUrl(received(out), key, now), 'ok');
          // Names in another order; values of one name keep theirs (their order is meaning).
          const shuffled = [...new URLSearchParams(out.search)].sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0));
          assert.equal(verifySignedUrl(withQuery(out, new URLSearchParams(shuffled).toString()), key, now), 'ok');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses any added parameter', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 6 }), fc.string({ maxLength: 6 }), (name, value) => {
        const extra = new URLSearchParams([[name, value]]).toString();
        assert.equal(verifySignedUrl(withQuery(base, `${base.search}&${extra}`), key, NOW), 'invalid');
      }),
    );
  });

  it('never throws and never accepts a random query', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (query) => {
        assert.equal(verifySignedUrl(withQuery(base, query), key, NOW) === 'ok', false);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('signedUrlReplayKey', () => {
  it('names the URL by its signature and lasts exactly as long as the URL verifies', () => {
    const url = signed('https://a.example.com/.pomerium/callback/?x=1');
    const { id, expiresAtMs } = signedUrlReplayKey(url);
    assert.equal(id, url.searchParams.get('pomerium_signature'));
    assert.equal(verifySignedUrl(url, key, expiresAtMs - 1), 'ok');
    assert.equal(verifySignedUrl(url, key, expiresAtMs), 'expired');
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { wantsLoginRedirect } from '../../src/authenticate/login-response.js';

const CHROME_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';
const FIREFOX_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

type Headers = Record<string, string | string[]>;

function pairs(h: Headers): string[] {
  return Object.entries(h).flatMap(([name, v]) => (Array.isArray(v) ? v.flatMap((x) => [name, x]) : [name, v]));
}

const chromeNavigation: Headers = {
  host: 'app.example.com',
  'upgrade-insecure-requests': '1',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  accept: CHROME_ACCEPT,
  'sec-fetch-site': 'none',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-user': '?1',
  'sec-fetch-dest': 'document',
};

describe('wantsLoginRedirect', () => {
  const cases: [label: string, method: string, headers: Headers, redirect: boolean][] = [
    // Browsers navigating
    ['Chrome navigation', 'GET', chromeNavigation, true],
    ['Chrome navigation, HEAD', 'HEAD', chromeNavigation, true],
    ['Firefox navigation', 'GET', { accept: FIREFOX_ACCEPT, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }, true],
    ['Safari navigation', 'GET', { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }, true],
    ['navigation in an iframe', 'GET', { accept: FIREFOX_ACCEPT, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' }, true],
    ['a browser without Fetch Metadata', 'GET', { accept: FIREFOX_ACCEPT }, true],
    ['Sec-Fetch-Mode in capitals and padded', 'GET', { accept: FIREFOX_ACCEPT, 'sec-fetch-mode': ' Navigate ' }, true],
    ['a page with Basic auth for the upstream', 'GET', { ...chromeNavigation, authorization: 'Basic dXNlcjpwYXNz' }, true],
    ['an upstream bearer token that is not ours', 'GET', { ...chromeNavigation, authorization: 'Bearer eyJhbGciOi' }, true],

    // Browser requests that are not navigations
    ['fetch() from a page', 'GET', { accept: '*/*', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' }, false],
    ['fetch() asking for HTML', 'GET', { accept: 'text/html', 'sec-fetch-mode': 'cors' }, false],
    ['same-origin fetch()', 'GET', { accept: '*/*', 'sec-fetch-mode': 'same-origin' }, false],
    ['an image', 'GET', { accept: 'image/avif,image/webp,*/*', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' }, false],
    ['a script', 'GET', { accept: '*/*', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'script' }, false],
    ['a WebSocket from a browser', 'GET', { upgrade: 'websocket', connection: 'Upgrade', 'sec-fetch-mode': 'websocket', 'sec-websocket-key': 'x' }, false],
    ['a WebSocket without Fetch Metadata', 'GET', { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'x' }, false],
    ['a WebSocket claiming to navigate', 'GET', { ...chromeNavigation, upgrade: 'websocket' }, false],
    ['jQuery XHR', 'GET', { accept: 'application/json, text/javascript, */*; q=0.01', 'x-requested-with': 'XMLHttpRequest' }, false],
    ['XHR asking for HTML', 'GET', { accept: 'text/html', 'x-requested-with': 'XMLHttpRequest' }, false],
    ['XHR header in other case', 'GET', { ...chromeNavigation, 'x-requested-with': ' xmlhttprequest' }, false],
    ['an empty Sec-Fetch-Mode', 'GET', { accept: FIREFOX_ACCEPT, 'sec-fetch-mode': '' }, false],
    ['two Sec-Fetch-Mode values, one not navigate', 'GET', { accept: FIREFOX_ACCEPT, 'sec-fetch-mode': ['navigate', 'cors'] }, false],

    // Methods
    ['a form POST', 'POST', chromeNavigation, false],
    ['PUT', 'PUT', chromeNavigation, false],
    ['DELETE', 'DELETE', chromeNavigation, false],
    ['OPTIONS (CORS preflight)', 'OPTIONS', { accept: '*/*', 'access-control-request-method': 'GET' }, false],
    ['lower-case get (methods are case-sensitive)', 'get', chromeNavigation, false],
    ['gRPC', 'POST', { 'content-type': 'application/grpc', te: 'trailers' }, false],

    // Programs
    ['curl (Accept: */*), as Pomerium: a harmless 302', 'GET', { 'user-agent': 'curl/8.5.0', accept: '*/*' }, true],
    ['no headers at all', 'GET', {}, true],
    ['a JSON client', 'GET', { accept: 'application/json' }, false],
    ['a JSON client with a wildcard fallback', 'GET', { accept: 'application/json, */*;q=0.1' }, false],
    ['JSON listed before HTML at equal quality', 'GET', { accept: 'application/json, text/html' }, false],
    ['HTML listed before JSON at equal quality', 'GET', { accept: 'text/html, application/json' }, true],
    ['JSON exact beats a wildcard at equal quality', 'GET', { accept: '*/*, application/json' }, false],
    ['text/* next to JSON', 'GET', { accept: 'text/*, application/json' }, false],
    ['text/* alone (text/html is the first text type)', 'GET', { accept: 'text/*' }, true],
    ['text/plain', 'GET', { accept: 'text/plain' }, false],
    ['gRPC-web text', 'GET', { accept: 'application/grpc-web-text' }, false],
    ['gRPC-web proto', 'GET', { accept: 'application/grpc-web+proto' }, false],
    ['pomerium-cli with its JWT', 'GET', { accept: FIREFOX_ACCEPT, authorization: 'Pomerium eyJhbGciOiJIUzI1NiJ9.e30.x' }, false],
    ['Bearer Pomerium-', 'GET', { accept: FIREFOX_ACCEPT, authorization: 'Bearer Pomerium-eyJhbGciOiJIUzI1NiJ9.e30.x' }, false],
    ['X-Pomerium-Authorization', 'GET', { accept: FIREFOX_ACCEPT, 'x-pomerium-authorization': 'eyJhbGciOiJIUzI1NiJ9.e30.x' }, false],
    ['a service-account token', 'GET', { accept: '*/*', authorization: `Bearer pst_sa_${'a'.repeat(24)}_${'b'.repeat(64)}` }, false],
    ['a service-account token, scheme in capitals', 'GET', { accept: '*/*', authorization: `BEARER  pst_sa_x` }, false],

    // Negotiation details
    ['HTML refused with q=0', 'GET', { accept: 'text/html;q=0, application/json' }, false],
    ['everything refused: counts as a browser, like Pomerium', 'GET', { accept: 'text/html;q=0, */*;q=0' }, true],
    ['only types we do not offer (like Pomerium)', 'GET', { accept: 'image/png' }, true],
    ['HTML preferred by quality', 'GET', { accept: 'application/json;q=0.5, text/html;q=0.8' }, true],
    ['JSON preferred by quality', 'GET', { accept: 'application/json;q=0.9, text/html;q=0.8' }, false],
    ['HTML with a lower q than the wildcard JSON gets (RFC 9110)', 'GET', { accept: 'text/html;q=0.9, */*' }, false],
    ['q=1.000 and q=0.001', 'GET', { accept: 'application/json;q=0.001, text/html;q=1.000' }, true],
    ['upper-case media types', 'GET', { accept: 'TEXT/HTML, Application/JSON;q=0.5' }, true],
    ['spaces and tabs around ranges and parameters', 'GET', { accept: ' application/json ;\tq=0.5 ,\ttext/html ; q = 0.9 ' }, true],
    ['a range with media-type parameters does not match', 'GET', { accept: 'text/html;level=1, application/json;q=0.5' }, false],
    ['accept-extensions after q do not matter', 'GET', { accept: 'text/html;q=0.9;ext=1, application/json;q=0.5' }, true],
    ['a malformed q drops only its range', 'GET', { accept: 'application/json;q=2, text/html;q=0.5' }, true],
    ['a malformed q drops only its range (2)', 'GET', { accept: 'text/html;q=abc, application/json;q=0.5' }, false],
    ['garbage ranges are skipped', 'GET', { accept: 'garbage, /, */json, text/, application/json' }, false],
    ['only garbage counts as no preference', 'GET', { accept: ',,; ;' }, true],
    ['an empty Accept', 'GET', { accept: '' }, true],
    ['two Accept headers read as one list', 'GET', { accept: ['application/json', 'text/html;q=0.5'] }, false],
    ['a type that only starts like text/html', 'GET', { accept: 'text/htmlx, application/json;q=0.5' }, false],
    ['HTML first but with a parameter', 'GET', { accept: 'text/html;charset=utf-8, application/json;q=0.5' }, false],
    ['JSON in the first Accept header, HTML in the second', 'GET', { accept: ['application/json', 'text/html'] }, false],
    ['two Accept headers read as one list (2)', 'GET', { accept: ['application/json;q=0.5', 'text/html'] }, true],
  ];
  for (const [label, method, headers, redirect] of cases) {
    it(`${label} → ${redirect ? '302' : '401'}`, () => assert.equal(wantsLoginRedirect(method, pairs(headers)), redirect));
  }

  it('is deterministic: no state leaks from one call to the next', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...cases), { minLength: 1, maxLength: 10 }), (sequence) => {
        for (const [, method, headers, redirect] of sequence) assert.equal(wantsLoginRedirect(method, pairs(headers)), redirect);
      }),
    );
  });

  it('never throws and never redirects a request that is not a navigation', () => {
    const accept = fc.string({ unit: fc.constantFrom('text/html', 'application/json', '*/*', 'text/*', ';', ',', 'q=', '0.5', '1', ' ', '=', '/', 'x'), maxLength: 12 });
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'HEAD', 'POST'),
        accept,
        fc.option(fc.constantFrom('navigate', 'cors', 'no-cors', 'same-origin', 'websocket', ''), { nil: undefined }),
        fc.option(fc.constantFrom('XMLHttpRequest', 'fetch'), { nil: undefined }),
        fc.option(fc.constantFrom('websocket', 'h2c'), { nil: undefined }),
        (method, acceptValue, mode, requestedWith, upgrade) => {
          const headers: Headers = { accept: acceptValue };
          if (mode !== undefined) headers['sec-fetch-mode'] = mode;
          if (requestedWith !== undefined) headers['x-requested-with'] = requestedWith;
          if (upgrade !== undefined) headers.upgrade = upgrade;
          const redirect = wantsLoginRedirect(method, pairs(headers));
          if (redirect) {
            assert.notEqual(method, 'POST');
            assert.ok(mode === undefined || mode === 'navigate');
            assert.notEqual(requestedWith, 'XMLHttpRequest');
            assert.equal(upgrade, undefined);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never throws on arbitrary header values', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('accept', 'sec-fetch-mode', 'authorization', 'x-requested-with'), fc.string({ unit: 'binary', maxLength: 40 })), { maxLength: 5 }), (hs) => {
        assert.equal(typeof wantsLoginRedirect('GET', hs.flat()), 'boolean');
      }),
    );
  });
});

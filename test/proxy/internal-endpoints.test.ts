import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { internalEndpoint, isUnder } from '../../src/proxy/internal-endpoints.js';
import type { ProxyRequest } from '../../src/proxy/request.js';

function req(path: string, method = 'GET'): ProxyRequest {
  return { method, path, query: '', host: 'a.example.com', port: null, headers: ['host', 'a.example.com'], remoteAddress: '127.0.0.1', secure: true, requestId: 'r' };
}

describe('internalEndpoint', () => {
  it('/ping and /healthz answer OK; other paths are not ours', () => {
    assert.equal(internalEndpoint(req('/ping'), false)?.body, 'OK\n');
    assert.equal(internalEndpoint(req('/healthz'), false)?.status, 200);
    assert.equal(internalEndpoint(req('/healthzz'), false), null);
  });

  it('only GET and HEAD', () => {
    assert.equal(internalEndpoint(req('/ping', 'POST'), false)?.error?.code, 'PST_METHOD_NOT_ALLOWED');
    assert.equal(internalEndpoint(req('/healthz', 'HEAD'), false)?.status, 200);
  });

  it('/healthz says 503 while draining; /ping stays OK', () => {
    assert.equal(internalEndpoint(req('/healthz'), true)?.status, 503);
    assert.equal(internalEndpoint(req('/ping'), true)?.status, 200);
  });

  it('a degraded session store is reported by /healthz with its reason, still 200', () => {
    const degraded = () => ({ ok: false, detail: 'leader a unreachable since 2026-12-04T18:00:00Z' });
    const answer = internalEndpoint(req('/healthz'), false, degraded);
    assert.deepEqual([answer?.status, answer?.body], [200, 'DEGRADED: leader a unreachable since 2026-12-04T18:00:00Z\n']);
    assert.equal(internalEndpoint(req('/ping'), false, degraded)?.body, 'OK\n');
  });
});

describe('isUnder', () => {
  it('is the prefix itself or below it, never a longer name', () => {
    assert.equal(isUnder('/.pomerium', '/.pomerium'), true);
    assert.equal(isUnder('/.pomerium/x', '/.pomerium'), true);
    assert.equal(isUnder('/.pomeriumx', '/.pomerium'), false);
  });
});

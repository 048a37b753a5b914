// The demo's upstream application: a page that shows exactly what reached
// it through the proxy (method, path, headers), so a visitor can see which
// headers Postern adds and which credentials it removes.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { escapeHtml } from '../frontend/html.js';

/**
 * The claims of the identity assertion Postern sent, for display. The demo
 * only decodes it; a real application verifies it against the proxy's
 * /.well-known/pomerium/jwks.json (with jose, say) before trusting it.
 */
function assertionClaims(req: IncomingMessage): Record<string, unknown> | null {
  const jwt = req.headers['x-pomerium-jwt-assertion'];
  if (typeof jwt !== 'string') return null;
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function page(req: IncomingMessage): string {
  const claims = assertionClaims(req);
  const identity = claims
    ? `<h2>Who is calling</h2><p>From the signed <code>X-Pomerium-Jwt-Assertion</code>:</p><table>${['sub', 'email', 'name', 'groups', 'sid', 'iss', 'aud', 'exp']
        .map((k) => `<tr><th>${k}</th><td>${escapeHtml(Array.isArray(claims[k]) ? (claims[k] as unknown[]).join(', ') : String(claims[k] ?? ''))}</td></tr>`)
        .join('')}</table>`
    : '<p>No identity assertion (a public route, or pass_identity_headers is off).</p>';
  const rows = Object.entries(req.headers)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(Array.isArray(v) ? v.join(', ') : (v ?? ''))}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Postern demo upstream</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#222}
th{text-align:left;padding-right:1rem;vertical-align:top;white-space:nowrap}td{font-family:monospace;word-break:break-all}</style>
</head><body>
<h1>Demo upstream</h1>
<p>This application sits behind Postern.</p>
${identity}
<h2>The request it received</h2>
<p><code>${escapeHtml(req.method ?? '')} ${escapeHtml(req.url ?? '')}</code></p>
<table>${rows}</table>
</body></html>`;
}

/** Starts the demo upstream on loopback; resolves with the server and its port. */
export function startEchoUpstream(port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const wantsJson = (req.headers.accept ?? '').includes('application/json');
      const body = wantsJson
        ? JSON.stringify({ method: req.method, url: req.url, headers: req.headers }, null, 2)
        : page(req);
      res.writeHead(200, {
        'content-type': wantsJson ? 'application/json' : 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : port });
    });
  });
}

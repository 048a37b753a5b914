// Private nginx instances for the benchmark: each has its own prefix, config,
// pid file, logs and temp paths under bench/.work, runs in the foreground
// (so its pid is ours) with one worker, and never touches the system nginx.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Child, ProcessGroup } from './children.js';
import { ASSERTION_ECHO_PATH, HELLO_BODY, IDENTITY_PREFIX, NO_ASSERTION_BODY } from './hello.js';

// Debian's packaged nginx keeps client connections for at most 1000 requests
// and upstream connections likewise; uWS and Postern never recycle a
// connection, so the reference gets the same treatment or it would measure
// reconnects.
const KEEPALIVE_REQUESTS = 10_000_000;

function preamble(dir: string): string {
  return `worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests ${KEEPALIVE_REQUESTS};
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
`;
}

/** nginx as the reference reverse proxy: proxy_pass with a keep-alive pool to the upstream. */
export function proxyConfig(dir: string, port: number, upstreamPort: number, connections: number): string {
  // The idle pool must hold every connection the proxy opens, or nginx closes
  // and reopens upstream connections under load.
  const pool = Math.max(64, connections);
  return `${preamble(dir)}
  upstream bench_upstream {
    server 127.0.0.1:${upstreamPort};
    keepalive ${pool};
    keepalive_requests ${KEEPALIVE_REQUESTS};
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/**
 * nginx as the upstream: a static 200 with the same body as the uWS hello
 * world, and the same insistence on the identity assertion under /api/
 * (see hello.ts).
 */
export function staticConfig(dir: string, port: number): string {
  return `${preamble(dir)}
  server {
    listen 127.0.0.1:${port};
    default_type text/plain;
    location / { return 200 "${HELLO_BODY}"; }
    location ${IDENTITY_PREFIX} {
      if ($http_x_pomerium_jwt_assertion = "") { return 500 "${NO_ASSERTION_BODY}"; }
      return 200 "${HELLO_BODY}";
    }
    location = ${ASSERTION_ECHO_PATH} {
      if ($http_x_pomerium_jwt_assertion = "") { return 500 "${NO_ASSERTION_BODY}"; }
      return 200 $http_x_pomerium_jwt_assertion;
    }
  }
}
`;
}

export function startNginx(group: ProcessGroup, nginxPath: string, name: string, dir: string, config: string): Child {
  mkdirSync(dir, { recursive: true });
  const confFile = join(dir, 'nginx.conf');
  writeFileSync(confFile, config);
  // -e: the error log before the config is read; otherwise nginx first tries /var/log/nginx.
  return group.start(name, nginxPath, ['-p', dir, '-c', confFile, '-e', join(dir, 'error.log')]);
}

# Postern container image.
# Debian slim, not Alpine: the uWebSockets.js binaries are glibc builds, and
# musl had crashes in corked asynchronous upgrades (engineering.md A1.3).
# Node 20: the bundled uWS v20.30 binaries exist only for Node 16/18/20 ABIs.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Dependencies first so that they stay cached while only sources change;
# the package's prepare script (the TypeScript build) needs the sources, so it waits.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build \
 && rm -rf dist/test dist/bench \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
# /run/postern holds the control socket (postern service-account); mount a
# volume at /var/lib/postern for `file` session storage
# (databroker_storage_connection_string: file:///var/lib/postern).
ENV RUNTIME_DIRECTORY=/run/postern \
    NODE_ENV=production \
    POSTERN_HEALTHCHECK_URL=https://127.0.0.1:443/healthz
RUN groupadd --system postern \
 && useradd --system --gid postern --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin postern \
 && install -d -o postern -g postern -m 0700 /run/postern /var/lib/postern
WORKDIR /opt/postern
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Files stay owned by root and read-only to the process; the config and
# certificates are mounted at /etc/postern (read-only is enough).
USER postern
# Docker lets unprivileged processes bind ports below 1024 inside the
# container's network namespace (net.ipv4.ip_unprivileged_port_start=0).
# With --network=host that does not apply: grant CAP_NET_BIND_SERVICE or listen on a high port.
EXPOSE 443
# uWS v20.30 never answers HTTP/1.0 or a request without Host (engineering.md
# A1.7), so the probe is node:http(s), which sends HTTP/1.1 with a Host header.
# /healthz answers 200 on every host, 503 while draining. The certificate is
# not checked: this is a loopback liveness probe, not a trust decision. Set
# POSTERN_HEALTHCHECK_URL to http://127.0.0.1:<port>/healthz for an
# insecure_server or another port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const u=new URL(process.env.POSTERN_HEALTHCHECK_URL);const m=require(u.protocol==='https:'?'node:https':'node:http');const r=m.get(u,{rejectUnauthorized:false,timeout:4000},(s)=>{s.resume();process.exit(s.statusCode===200?0:1)});r.on('timeout',()=>r.destroy(new Error('timeout')));r.on('error',()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve", "--config", "/etc/postern/config.yaml"]

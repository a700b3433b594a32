# Why: one container image for a node (docs/OPERATIONS.md "Deployment"). Multi-stage: the build
# stage installs the locked dependencies (native lmdb and LevelDB bindings included); the runtime
# stage copies only the result onto a slim Node 20, runs as the unprivileged `node` user, keeps
# its data in a volume and reports health from GET /health.
# The node runs its TypeScript sources through tsx (bin/everwrite.mjs), so the installed tree
# keeps tsx; nothing is compiled.
FROM node:20-bookworm-slim AS build
WORKDIR /opt/everwrite
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    EVERWRITE_DATA=/var/lib/everwrite \
    EVERWRITE_ENGINE=lmdb
WORKDIR /opt/everwrite
COPY --from=build --chown=root:root /opt/everwrite /opt/everwrite
RUN mkdir -p /var/lib/everwrite /etc/everwrite && chown node:node /var/lib/everwrite
USER node
VOLUME ["/var/lib/everwrite"]
# Peers, HTTP (API, /metrics, dashboard), RESP.
EXPOSE 7001 8001 6381
# /health answers while the HTTP server runs; EVERWRITE_HTTP is host:port (0.0.0.0 is probed on loopback).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "const a=(process.env.EVERWRITE_HTTP||'127.0.0.1:8001').replace('0.0.0.0','127.0.0.1');fetch('http://'+a+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Settings come from EVERWRITE_* variables or --config (docs/OPERATIONS.md "One node").
ENTRYPOINT ["node", "/opt/everwrite/bin/everwrite.mjs", "start"]

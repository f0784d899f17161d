# syntax=docker/dockerfile:1
#
# One image recipe for every service (ingress, mcp-server, worker). Build from the repository root:
#
#   docker build --build-arg SERVICE=mcp-server -t mcp-broker/mcp-server .
#
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step and the
# image holds the same .ts files the tests run. See docs/deployment.md ("The image").

ARG NODE_IMAGE=node:24-bookworm-slim
# ingress | mcp-server | worker (a directory under services/). No default: an image names its service.
ARG SERVICE

# ---- stage: what this service's image holds, picked from the build context ----------------------
# The manifests of every workspace (npm ci checks the lockfile against all of them) and the sources
# of the service and of the workspaces it depends on at run time; no list to keep here.
FROM ${NODE_IMAGE} AS stage
ARG SERVICE
WORKDIR /context
COPY . .
RUN node infra/docker/stage-workspaces.ts "${SERVICE}" /staged

# ---- deps: production dependencies of the service's workspace only ------------------------------
FROM ${NODE_IMAGE} AS deps
ARG SERVICE
WORKDIR /app
# Same content whenever no manifest changed, so the npm ci layer below stays cached.
COPY --from=stage /staged/manifests ./
# --omit=dev: no devDependency of any workspace (test tools, the embedded Cosmos server of the
# store). npm still installs the production dependencies of every workspace, the peers' too
# (oidc-provider of peers/dev-oauth, faye of peers/salesforce-sandbox); no peer's sources are staged
# (stage-workspaces.ts refuses a service that depends on one), so nothing loads them. No production dependency needs an install script, so none is run.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --workspace @mcp-broker/${SERVICE} --ignore-scripts --no-audit --no-fund

# ---- runtime: what every service's image shares --------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
# node_modules (workspace packages are symlinks into shared/ and services/) and the manifests, then
# the sources. Files stay owned by root: the process can read them but not change them.
COPY --from=deps /app ./
COPY --from=stage /staged/sources ./
# The official image's unprivileged user (uid 1000).
USER node

# ---- per service: its port, health check and entry point -----------------------------------------
# Health checks fetch the liveness endpoint with Node's own fetch (slim images have no curl);
# readiness (store, Redis) is GET /readyz. Node handles SIGTERM itself (graceful shutdown).

FROM runtime AS service-mcp-server
LABEL org.opencontainers.image.title="mcp-broker mcp-server" \
      org.opencontainers.image.description="Governed MCP tool server: Entra ID auth, per-tool RBAC, rate limits, audit."
ENV PORT=3001
EXPOSE 3001
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3001) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "services/mcp-server/src/main.ts"]

FROM runtime AS service-ingress
LABEL org.opencontainers.image.title="mcp-broker ingress" \
      org.opencontainers.image.description="mcp-broker ingress: the asynchronous tool-call API."
ENV PORT=3002
EXPOSE 3002
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3002) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The broker configuration file (endpoints, callers) is mounted and named by BROKER_CONFIG.
CMD ["node", "services/ingress/src/main.ts"]

FROM runtime AS service-worker
LABEL org.opencontainers.image.title="mcp-broker worker" \
      org.opencontainers.image.description="mcp-broker worker: tool calls on each caller's behalf, write-backs."
# /healthz, /readyz and /status (queue depths, Salesforce channels); the worker takes no other input.
ENV HEALTH_PORT=3003
EXPOSE 3003
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HEALTH_PORT || 3003) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The broker configuration file (endpoints, callers) is mounted and named by BROKER_CONFIG.
CMD ["node", "services/worker/src/main.ts"]

# The image built is the stage of the service named by SERVICE.
FROM service-${SERVICE}

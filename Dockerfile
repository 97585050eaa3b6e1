# sightline: one container per customer account. Build: docker build -t sightline .
# Config is mounted at /etc/sightline/config.yaml, the console token at
# /var/run/secrets/sightline/token, and the state directory (SQLite outbox, cursors, caches) is a
# persistent volume at /var/lib/sightline.

FROM node:22-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY adapters ./adapters
COPY proto ./proto
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
# Memory settings, measured by `npm run bench` (which runs the watcher with exactly this ENV):
# - heap cap 384 MB: live heap is about 130 MB at 100,000 ECS tasks + 5,000 Cloud Run revisions
#   (about 1 KB per task); raise it with the container's memory limit for larger accounts;
# - a 4 MB young generation (V8's default grows to 16 MB per semi-space): about 25 MB less RSS
#   for about 8 % more CPU;
# - glibc: buffers of 128 KB and more are mmap'ed and returned when freed, instead of fragmenting
#   the main heap (the default threshold grows with every large free): about 20 MB less RSS;
# - glibc: at most 2 malloc arenas (the default is 8 per core, one more for each thread that
#   allocates at the same time as another: libuv's pool, V8's helpers), each holding its own free
#   memory: about 10 MB less RSS at steady state, no more CPU.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=384 --max-semi-space-size=4" \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    MALLOC_ARENA_MAX=2 \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY proto ./proto
COPY config ./config
COPY adapters/cloudrun/protos ./adapters/cloudrun/protos
RUN mkdir -p /var/lib/sightline /etc/sightline && chown node:node /var/lib/sightline
USER node
VOLUME ["/var/lib/sightline"]
# The default http.listen port; the health check reads the real one from SIGHTLINE_CONFIG (the
# file CMD runs with: keep them the same when overriding either).
EXPOSE 9090
ENV SIGHTLINE_CONFIG=/etc/sightline/config.yaml
# /livez (the process can make progress), not /healthz: a console outage is no reason to restart.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "bin/healthcheck.js"]
ENTRYPOINT ["node", "bin/sightline.js"]
CMD ["run", "--config", "/etc/sightline/config.yaml"]

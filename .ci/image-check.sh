#!/usr/bin/env bash
# Checks the Docker image's runtime layout without a Docker engine: the final stage's files
# (package.json, lock, bin, dist, proto, config, the vendored Cloud Run protos) with production
# dependencies only, then runs the built CLI and loads every .proto the daemon needs from there,
# and runs the HEALTHCHECK script (bin/healthcheck.js) against a /livez on the configured port.
set -euo pipefail
cd "$(dirname "$0")/.."
img=$(mktemp -d)
trap 'rm -rf "$img"' EXIT
cp -r package.json package-lock.json bin dist proto config "$img/"
mkdir -p "$img/adapters/cloudrun"
cp -r adapters/cloudrun/protos "$img/adapters/cloudrun/"
cp -r node_modules "$img/"
cd "$img"
npm prune --omit=dev --no-audit --no-fund >/dev/null
node bin/sightline.js version
node bin/sightline.js validate --config config/examples/aws.yaml
node --input-type=module -e "
  const audit = await import('./dist/adapters/cloudrun/audit-proto.js');
  const bytes = audit.encodeAuditLog({ serviceName: 'run.googleapis.com', methodName: 'google.cloud.run.v2.Services.CreateService' });
  const back = audit.decodeAuditLog(bytes);
  if (back.methodName !== 'google.cloud.run.v2.Services.CreateService') throw new Error('audit proto round trip failed');
  const console_ = await import('./dist/src/console/proto.js');
  console_.packageDefinition();
  console.log('image layout: CLI runs, audit_log.proto and agent.proto load from dist');
"
# HEALTHCHECK: bin/healthcheck.js reads the port from SIGHTLINE_CONFIG and probes /livez there.
node -e "
  const s = require('node:http').createServer((q, r) => r.writeHead(q.url === '/livez' ? 200 : 404).end());
  s.listen(0, '127.0.0.1', () => { require('node:fs').writeFileSync('livez.port', String(s.address().port)); });
  setTimeout(() => s.close(), 20000).unref();
  process.on('SIGTERM', () => s.close());
" &
livez_pid=$!
for _ in $(seq 100); do [ -s livez.port ] && break; sleep 0.1; done
printf 'http: { listen: "0.0.0.0:%s" }\n' "$(cat livez.port)" > hc-config.yaml
SIGHTLINE_CONFIG=hc-config.yaml node bin/healthcheck.js
kill "$livez_pid"
wait "$livez_pid" 2>/dev/null || true
if SIGHTLINE_CONFIG=hc-config.yaml node bin/healthcheck.js 2>/dev/null; then
  echo 'healthcheck passed with nothing listening' >&2
  exit 1
fi
echo 'image layout: HEALTHCHECK probes /livez on the configured port'

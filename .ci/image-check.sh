#!/usr/bin/env bash
# Checks the Docker image's runtime layout without a Docker engine: the final stage's files
# (package.json, lock, bin, dist, proto, config, the vendored Cloud Run protos) with production
# dependencies only, then runs the built CLI and loads every .proto the daemon needs from there.
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

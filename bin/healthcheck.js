#!/usr/bin/env node
// The container's HEALTHCHECK: GET /livez on the port the daemon listens on, read from the same
// config file the container runs with (SIGHTLINE_CONFIG, default /etc/sightline/config.yaml:
// `http.listen`, with ${VAR} / ${VAR:-default} taken from the environment), so changing the port in
// the config never leaves a health check probing the old one. /livez, not /healthz: a console
// outage must not mark a daemon that can make progress unhealthy.
// Exit 0 when /livez answers 200; 1 otherwise, with one line on stderr saying why.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

// The default of `http.listen` (src/config/defaults.ts; test/foundation/deploy-manifests.test.ts checks they agree).
export const DEFAULT_LISTEN = '0.0.0.0:9090';
const TIMEOUT_MS = 4_000;

function substitute(text) {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name, fallback) => {
    const v = process.env[name];
    return v !== undefined && v !== '' ? v : (fallback ?? '');
  });
}

/** The URL of /livez for a config file's text. */
export function livezUrl(configText) {
  const doc = parse(configText) ?? {};
  const raw = doc?.http?.listen;
  const listen = typeof raw === 'string' ? substitute(raw) : DEFAULT_LISTEN;
  const i = listen.lastIndexOf(':');
  let host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`http.listen "${listen}" has no fixed port to probe`);
  }
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/livez`;
}

async function main() {
  const file = process.env.SIGHTLINE_CONFIG || '/etc/sightline/config.yaml';
  let url;
  try {
    url = livezUrl(readFileSync(file, 'utf8'));
  } catch (err) {
    process.stderr.write(`healthcheck: cannot read the listen address from ${file}: ${err.message}\n`);
    return 1;
  }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (res.status === 200) return 0;
    process.stderr.write(`healthcheck: ${url} answered ${res.status}: ${(await res.text()).slice(0, 500)}\n`);
    return 1;
  } catch (err) {
    process.stderr.write(`healthcheck: ${url} failed: ${err.message}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  process.exitCode = await main();
}

#!/usr/bin/env node
// The `sightline` command. Runs the compiled build when there is one (the Docker image), and the
// TypeScript sources through tsx otherwise (a fresh `npm ci` checkout), so both behave the same.
// In a checkout whose sources changed after the last `npm run build`, the sources win: a stale
// dist/ must never run code that no longer exists (e2e tests and `npx sightline` included).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'src', 'cli', 'main.js');

/** The newest modification time (ms) of the .ts files under `dir`, 0 when there is none. */
function newestSourceMs(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSourceMs(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

const useBuild =
  existsSync(built) &&
  Math.max(newestSourceMs(join(root, 'src')), newestSourceMs(join(root, 'adapters'))) <=
    statSync(built).mtimeMs;
if (useBuild) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}

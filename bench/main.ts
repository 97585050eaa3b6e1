/**
 * `npm run bench`: runs every benchmark section in turn and prints one markdown report to stdout
 * (progress goes to stderr), and writes the same figures as JSON to bench-report.json (or the path
 * in BENCH_REPORT). `npm run bench -- watch ecs` runs only the named sections.
 */
import { writeFileSync } from 'node:fs';
import type { BenchSection } from './report.js';

type Runner = () => Promise<BenchSection>;

const sections: Record<string, () => Promise<Runner>> = {
  watch: async () => (await import('./watch.js')).run,
  cloudrun: async () => (await import('./cloudrun.js')).run,
  'cloudrun-latency': async () => (await import('./cloudrun-latency.js')).run,
  'cloudrun-pushed': async () => (await import('./cloudrun-pushed.js')).run,
  ecs: async () => (await import('./ecs.js')).run,
  'ecs-feed': async () => (await import('./ecs-feed.js')).run,
  lambda: async () => (await import('./lambda.js')).run,
  console: async () => (await import('./console.js')).run,
  daemon: async () => (await import('./daemon.js')).run,
  'pushed-daemon': async () => (await import('./pushed-daemon.js')).run,
  leader: async () => (await import('./leader.js')).run,
};

function formatValue(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return v.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

function toMarkdown(results: BenchSection[], failures: Array<{ name: string; error: string }>): string {
  const lines: string[] = [
    '# sightline benchmark report',
    '',
    `Node ${process.version}, ${new Date().toISOString()}`,
    '',
  ];
  for (const s of results) {
    lines.push(`## ${s.name}`, '', '| metric | value | unit | target | met |', '|---|---:|---|---|---|');
    for (const f of s.figures) {
      lines.push(
        `| ${f.metric} | ${formatValue(f.value)} | ${f.unit} | ${f.target ?? ''} | ${f.pass === undefined ? '' : f.pass ? 'yes' : '**no**'} |`,
      );
    }
    for (const n of s.notes ?? []) lines.push('', `- ${n}`);
    lines.push('');
  }
  for (const f of failures) lines.push(`## ${f.name}: FAILED`, '', '```', f.error, '```', '');
  return lines.join('\n');
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(sections);
const results: BenchSection[] = [];
const failures: Array<{ name: string; error: string }> = [];
for (const name of names) {
  const load = sections[name];
  if (!load) {
    failures.push({ name, error: `unknown section (known: ${Object.keys(sections).join(', ')})` });
    continue;
  }
  process.stderr.write(`bench: ${name}...\n`);
  const started = Date.now();
  try {
    const run = await load();
    results.push(await run());
  } catch (err) {
    failures.push({ name, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
  process.stderr.write(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
process.stdout.write(toMarkdown(results, failures));
const out = process.env['BENCH_REPORT'] ?? 'bench-report.json';
writeFileSync(
  out,
  JSON.stringify(
    { node: process.version, at: new Date().toISOString(), sections: results, failures },
    null,
    2,
  ),
);
process.stderr.write(`bench: JSON written to ${out}\n`);
process.exitCode = failures.length > 0 ? 1 : 0;

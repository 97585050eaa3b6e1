/**
 * The runtime environment the Docker image sets (the `ENV` instructions of the Dockerfile's last
 * stage), so that the whole-daemon benchmark runs the watcher exactly as deployed: heap cap,
 * young-generation size and allocator settings come from one place, the Dockerfile.
 *
 * Understands `ENV KEY=VALUE ...` with double-quoted values and `\` continuation lines (the forms
 * the Dockerfile uses); throws on anything else, naming the line, rather than guessing.
 */
import { readFileSync } from 'node:fs';

export function imageEnv(dockerfile: string): Record<string, string> {
  const lines = readFileSync(dockerfile, 'utf8').split('\n');
  const instructions: string[] = [];
  let current = '';
  for (const raw of lines) {
    if (current === '' && raw.trimStart().startsWith('#')) continue;
    const line = raw.trimEnd();
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    instructions.push(current + line);
    current = '';
  }
  const lastFrom = instructions.map((l) => /^FROM\s/i.test(l.trim())).lastIndexOf(true);
  const env: Record<string, string> = {};
  for (const ins of instructions.slice(lastFrom + 1)) {
    const m = /^ENV\s+(.*)$/i.exec(ins.trim());
    if (!m?.[1]) continue;
    const pair = /([A-Za-z_][A-Za-z0-9_]*)=(?:"((?:[^"\\]|\\.)*)"|(\S*))\s*/gy;
    const body = m[1];
    let consumed = 0;
    for (let p = pair.exec(body); p; p = pair.exec(body)) {
      env[p[1] as string] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
      consumed = pair.lastIndex;
    }
    if (consumed !== body.length)
      throw new Error(`${dockerfile}: cannot read ENV instruction "${ins.trim()}"`);
  }
  return env;
}

/**
 * `${VAR}` substitution in every YAML style (block, flow mapping, flow sequence, quoted), through
 * the same `parseConfig` that `validate`, `run` and `once` use: a value is one string whatever it
 * holds, an unset variable names its variable and field, and no variable's value reaches an error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import type { Config } from '../../src/config/schema.js';

let dir: string;
let token: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sightline-subst-'));
  token = join(dir, 'token');
  writeFileSync(token, 'secret-token-value\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A valid config whose `tenant` (and optionally `providers`) lines are the case's own. */
function config(
  tenant: string,
  providers = 'providers:\n  ecs: { account: "123456789012", regions: [us-east-1] }',
): string {
  return [
    tenant,
    providers,
    `console: { address: "console.example.com:443", tokenFile: "${token}" }`,
    `stateDir: "${join(dir, 'state')}"`,
  ].join('\n');
}

const ISSUER = 'issuer: "https://issuer.example.com"';
/** Every YAML indicator a value could try to inject: mapping, comment, flow, quotes, a new line. */
const HOSTILE = 'a: b # c {d: e} [f, g], "h\' & *i !j |\nstateDir: /etc';

function parse(text: string, env: NodeJS.ProcessEnv): Config {
  return parseConfig(text, 'test.yaml', { env });
}

function issuesOf(text: string, env: NodeJS.ProcessEnv): Array<{ path: string; message: string }> {
  try {
    parse(text, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

describe('${VAR} in every YAML style', () => {
  it.each([
    ['block', `tenant:\n  group: \${G}\n  ${ISSUER}`, { G: 'team-a' }, 'team-a'],
    ['block, text around', `tenant:\n  group: pre-\${G}-post\n  ${ISSUER}`, { G: 'x' }, 'pre-x-post'],
    ['flow mapping', `tenant: { group: \${G}, ${ISSUER} }`, { G: 'team-a' }, 'team-a'],
    ['flow mapping, no spaces', `tenant: {group: \${G},${ISSUER}}`, { G: 'team-a' }, 'team-a'],
    ['flow mapping, last entry', `tenant: { ${ISSUER}, group: \${G} }`, { G: 'team-a' }, 'team-a'],
    ['flow mapping, two references', `tenant: { group: \${A}:\${B}, ${ISSUER} }`, { A: 'x', B: 'y' }, 'x:y'],
    ['double-quoted', `tenant: { group: "\${G}", ${ISSUER} }`, { G: 'team-a' }, 'team-a'],
    ['single-quoted', `tenant: { group: '\${G}', ${ISSUER} }`, { G: 'team-a' }, 'team-a'],
    ['default, flow mapping', `tenant: { group: \${G:-fallback}, ${ISSUER} }`, {}, 'fallback'],
    ['default with YAML indicators', `tenant: { group: \${G:-a: b, #c}, ${ISSUER} }`, {}, 'a: b, #c'],
    ['default, double-quoted escape', `tenant: { group: "\${G:-say \\"hi\\"}", ${ISSUER} }`, {}, 'say "hi"'],
    ['default, single-quoted escape', `tenant: { group: '\${G:-it''s}', ${ISSUER} }`, {}, "it's"],
    ['set variable wins over default', `tenant: { group: \${G:-fallback}, ${ISSUER} }`, { G: 'set' }, 'set'],
    ['escape, flow mapping', `tenant: { group: $\${G}, ${ISSUER} }`, { G: 'unused' }, '${G}'],
    ['escape, block', `tenant:\n  group: $\${G}\n  ${ISSUER}`, { G: 'unused' }, '${G}'],
    ['hostile value, flow mapping', `tenant: { group: \${G}, ${ISSUER} }`, { G: HOSTILE }, HOSTILE],
    ['hostile value, block', `tenant:\n  group: \${G}\n  ${ISSUER}`, { G: HOSTILE }, HOSTILE],
    ['hostile value, double-quoted', `tenant: { group: "\${G}", ${ISSUER} }`, { G: HOSTILE }, HOSTILE],
    ['hostile value, single-quoted', `tenant: { group: '\${G}', ${ISSUER} }`, { G: HOSTILE }, HOSTILE],
    [
      'placeholder-like value',
      `tenant: { group: \${G}, ${ISSUER} }`,
      { G: '\uE0000\uE001' },
      '\uE0000\uE001',
    ],
  ])('%s', (_name, tenant, env, group) => {
    const c = parse(config(tenant), env);
    expect(c.tenant.group).toBe(group);
    expect(c.tenant.issuer).toBe('https://issuer.example.com');
    expect(c.stateDir).toBe(join(dir, 'state'));
  });

  it.each([
    ['flow sequence', 'regions: [${R1}, ${R2}]'],
    ['flow sequence, no spaces', 'regions: [${R1},${R2}]'],
    ['block sequence', 'regions:\n      - ${R1}\n      - ${R2}'],
  ])('%s', (_name, regions) => {
    const c = parse(
      config(
        `tenant: { group: g, ${ISSUER} }`,
        `providers:\n  ecs:\n    account: "123456789012"\n    ${regions}`,
      ),
      { R1: 'us-east-1', R2: 'eu-west-1' },
    );
    expect(c.providers.ecs?.regions).toEqual(['us-east-1', 'eu-west-1']);
  });

  it('a hostile value in a flow sequence stays one item (and fails validation as one)', () => {
    const issues = issuesOf(
      config(
        `tenant: { group: g, ${ISSUER} }`,
        'providers:\n  ecs: { account: "123456789012", regions: [${R1}] }',
      ),
      { R1: 'us-east-1, eu-west-1]\nstateDir: /etc' },
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      path: 'providers.ecs.regions[0]',
      message: expect.stringContaining('AWS region'),
    });
  });
});

describe('${VAR} errors', () => {
  const secrets = 'credentials: { source: static, accessKeyId: ${AK}, secretAccessKey: ${SK} }';
  const withSecrets = (): string =>
    config(
      `tenant: { group: \${G}, ${ISSUER} }`,
      `providers:\n  ecs: { account: "123456789012", regions: [us-east-1], ${secrets} }`,
    );

  it.each([
    ['unset in a flow mapping', { AK: 'AKIDSET', SK: 'hunter2-secret' }, 'tenant.group', 'G'],
    [
      'unset secret in a flow mapping',
      { G: 'group-value-x', AK: 'AKIDSET' },
      'providers.ecs.credentials.secretAccessKey',
      'SK',
    ],
  ])('%s names the variable and the field, and no value', (_name, env, path, name) => {
    const issues = issuesOf(withSecrets(), env);
    expect(issues).toEqual([{ path, message: `environment variable ${name} is not set` }]);
    const text = JSON.stringify(issues);
    for (const v of Object.values(env)) expect(text).not.toContain(v);
  });

  it('an unset variable in a flow sequence names the item', () => {
    const issues = issuesOf(
      config(
        `tenant: { group: g, ${ISSUER} }`,
        'providers:\n  ecs: { account: "123456789012", regions: [us-east-1, ${R2}] }',
      ),
      {},
    );
    expect(issues).toEqual([
      { path: 'providers.ecs.regions[1]', message: 'environment variable R2 is not set' },
    ]);
  });

  it('a secret with a default is refused in flow style as in block style, without its default', () => {
    const text = config(
      `tenant: { group: g, ${ISSUER} }`,
      'providers:\n  ecs: { account: "123456789012", regions: [us-east-1], credentials: { source: static, accessKeyId: ${AK}, secretAccessKey: ${SK:-inline-default} } }',
    );
    const issues = issuesOf(text, { AK: 'a', SK: 's' });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('providers.ecs.credentials.secretAccessKey');
    expect(issues[0]?.message).toContain('cannot have a default');
    expect(JSON.stringify(issues)).not.toContain('inline-default');
  });

  it('a YAML error quotes the reference as written, never a placeholder or a value', () => {
    const issues = issuesOf(config(`tenant: { group: [\${G}, ${ISSUER} }`), { G: 'value-of-g' });
    expect(issues[0]?.message).toMatch(/^YAML:/);
    const text = JSON.stringify(issues);
    expect(text).not.toContain('value-of-g');
    expect(text).not.toMatch(/[\uE000\uE001]/);
  });

  it('an unclosed default does not swallow the lines after it', () => {
    // `${G:-x` has no `}` on its line: it is plain text, and the next line's `}` stays YAML's.
    const c = parse(
      config(
        `tenant:\n  group: "\${G:-x"\n  ${ISSUER}`,
        'providers: { ecs: { account: "123456789012", regions: [us-east-1] } }',
      ),
      {},
    );
    expect(c.tenant.group).toBe('${G:-x');
    expect(c.providers.ecs?.regions).toEqual(['us-east-1']);
  });

  it('the same reference twice as a key is still a duplicate key', () => {
    const issues = issuesOf(config(`tenant: { group: g, ${ISSUER} }\nlabels: { \${K}: 1, \${K}: 2 }`), {
      K: 'k',
    });
    expect(issues[0]?.message).toMatch(/^YAML: .*[Uu]nique|^YAML: .*[Dd]uplicate/);
  });
});

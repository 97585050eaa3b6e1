/**
 * `providers.ecs.changeFeed` through the one config loader `validate` and `run` share: the pushed
 * mode's settings are refused with a line naming the field when `run` could not use them (no queue,
 * a queue URL that is none, one queue for several regions, out-of-range durations), and the
 * defaults (CloudTrail mode; 10 min reconciliation in pushed mode) are filled in.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import type { ConfigIssue } from '../../src/config/errors.js';
import { loadConfigFile } from '../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'sl-ecs-feed-'));
const token = join(dir, 'token');
writeFileSync(token, 'a-good-token-123\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/sightline-ecs-events';
let n = 0;

function load(ecs: string): { issues: ConfigIssue[]; ecs?: Record<string, unknown> } {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(
    file,
    [
      'tenant: { group: g1, issuer: "https://issuer.example.com" }',
      `providers:\n  ecs: { account: "123456789012", ${ecs} }`,
      `console: { address: "console.example.com:443", tokenFile: "${token}" }`,
      `stateDir: "${join(dir, 'state')}"`,
    ].join('\n'),
  );
  try {
    const config = loadConfigFile(file, { env: {} }) as unknown as {
      providers: { ecs: Record<string, unknown> };
    };
    return { issues: [], ecs: config.providers.ecs };
  } catch (err) {
    if (err instanceof ConfigError) return { issues: err.issues };
    throw err;
  }
}

describe('providers.ecs.changeFeed', () => {
  it('defaults to CloudTrail + task poll, and fills the pushed mode defaults', () => {
    expect(load('regions: [us-east-1]').ecs?.['changeFeed']).toMatchObject({ source: 'cloudtrail' });
    expect(load(`regions: [us-east-1], changeFeed: { source: sqs, queueUrl: "${QUEUE}" }`).ecs).toMatchObject(
      {
        changeFeed: { source: 'sqs', queueUrl: QUEUE, reconcileIntervalMs: 600_000, cloudTrail: true },
      },
    );
    expect(
      load(
        'regions: [us-east-1, eu-west-1], changeFeed: { source: sqs, queueUrl: "https://sqs.{region}.amazonaws.com/123456789012/q" }',
      ).issues,
    ).toEqual([]);
  });

  it.each([
    [
      'no queue',
      'regions: [us-east-1], changeFeed: { source: sqs }',
      'providers.ecs.changeFeed.queueUrl',
      /needs the queueUrl/,
    ],
    [
      'a queue URL that is none',
      'regions: [us-east-1], changeFeed: { source: sqs, queueUrl: "sightline-ecs-events" }',
      'providers.ecs.changeFeed.queueUrl',
      /SQS queue URL/,
    ],
    [
      'one queue for two regions',
      `regions: [us-east-1, eu-west-1], changeFeed: { source: sqs, queueUrl: "${QUEUE}" }`,
      'providers.ecs.changeFeed.queueUrl',
      /\{region\}/,
    ],
    [
      'a queue in CloudTrail mode',
      `regions: [us-east-1], changeFeed: { queueUrl: "${QUEUE}" }`,
      'providers.ecs.changeFeed.queueUrl',
      /only with source: sqs/,
    ],
    [
      'an unknown source',
      'regions: [us-east-1], changeFeed: { source: kinesis }',
      'providers.ecs.changeFeed.source',
      /./,
    ],
    [
      'a reconciliation of 10 ms',
      `regions: [us-east-1], changeFeed: { source: sqs, queueUrl: "${QUEUE}", reconcileIntervalMs: 10 }`,
      'providers.ecs.changeFeed.reconcileIntervalMs',
      /between 1000/,
    ],
    [
      'a bad sqs endpoint',
      `regions: [us-east-1], endpoints: { sqs: "localhost" }`,
      'providers.ecs.endpoints.sqs',
      /URL/,
    ],
  ])('refuses %s', (_what, ecs, path, message) => {
    const { issues } = load(ecs);
    expect(issues).toContainEqual(expect.objectContaining({ path, message: expect.stringMatching(message) }));
  });
});

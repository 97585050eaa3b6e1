/**
 * The `providers.lambda` section: `validate` accepts the example, fills the defaults, and refuses
 * (naming the field) every section `run` would fail on: bad account or region, inline secrets,
 * a pushed feed without a queue or with one queue for several regions, CloudTrail above 2/s.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { lambdaDefaults, lambdaSchema } from '../../adapters/lambda/config.js';

const root = resolve(import.meta.dirname, '../..');
const core = `tenant: { group: g1, issuer: "https://issuer.example.com" }
console: { address: "console.example.com:443", tokenFile: /nonexistent/token }
stateDir: /tmp/sightline-lambda-config-test
`;

function issuesOf(section: string): string[] {
  try {
    parseConfig(`${core}providers:\n  lambda:\n${section}`, 'test.yaml', {
      env: { K: 'k', S: 's' },
      checkFiles: false,
    });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('providers.lambda config', () => {
  it('accepts config/examples/lambda.yaml and fills the defaults', () => {
    const text = readFileSync(resolve(root, 'config/examples/lambda.yaml'), 'utf8');
    expect(() => parseConfig(text, 'lambda.yaml', { env: {}, checkFiles: false })).not.toThrow();
    const c = lambdaSchema.parse({ account: '123456789012', regions: ['us-east-1'] });
    expect(c.functionPollIntervalMs).toBe(lambdaDefaults.functionPollIntervalMs);
    expect(c.changeFeed.source).toBe('cloudtrail');
    expect(c.cloudTrail.lookupAttribute).toBe('ReadOnly');
  });

  it.each([
    [
      '    account: "12345"\n    regions: [us-east-1]\n',
      'providers.lambda.account: must be a 12-digit AWS account id',
    ],
    [
      '    account: "123456789012"\n    regions: [useast]\n',
      'providers.lambda.regions[0]: not an AWS region (e.g. us-east-1)',
    ],
    [
      '    account: "123456789012"\n    regions: [us-east-1]\n    credentials: { source: static, accessKeyId: inline, secretAccessKey: "${S}" }\n',
      'providers.lambda.credentials.accessKeyId: secrets must be given by reference (${ENV_VAR}), not inline in the config file',
    ],
    [
      '    account: "123456789012"\n    regions: [us-east-1]\n    changeFeed: { source: sqs }\n',
      'providers.lambda.changeFeed.queueUrl: source: sqs needs the queueUrl of the events queue',
    ],
    [
      '    account: "123456789012"\n    regions: [us-east-1, eu-west-1]\n    changeFeed: { source: sqs, queueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/q" }\n',
      'providers.lambda.changeFeed.queueUrl: with several regions the queueUrl must contain {region} (one queue per region: EventBridge rules are regional)',
    ],
    [
      '    account: "123456789012"\n    regions: [us-east-1]\n    cloudTrail: { maxRequestsPerSecond: 5 }\n',
      'providers.lambda.cloudTrail.maxRequestsPerSecond: CloudTrail allows at most 2 requests per second per account and region',
    ],
  ])('refuses %#', (section, issue) => {
    expect(issuesOf(section)).toContain(issue);
  });
});

/**
 * The Lambda emulator through the real @aws-sdk/client-lambda: paging, GetFunction's image fields,
 * versions and aliases with weights, throttling (429 TooManyRequestsException) and faults.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  GetFunctionCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { startLambdaEmulator } from '../../adapters/lambda/emulator/index.js';
import type { LambdaEmulator } from '../../adapters/lambda/emulator/index.js';

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };
let emu: LambdaEmulator | undefined;
let client: LambdaClient | undefined;

afterEach(async () => {
  client?.destroy();
  await emu?.stop();
  emu = undefined;
  client = undefined;
});

async function start(throttling = false): Promise<{ emu: LambdaEmulator; client: LambdaClient }> {
  emu = await startLambdaEmulator({ throttling: { enabled: throttling } });
  client = new LambdaClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials, maxAttempts: 1 });
  return { emu, client };
}

describe('Lambda emulator (real SDK)', () => {
  it('pages ListFunctions 50 at a time and marks zip and image functions', async () => {
    const { emu, client } = await start();
    emu.fleet.generate({ regions: ['us-east-1'], functions: 120, versionsPerFunction: 1, zipEvery: 10 });
    const names: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const out = await client.send(
        new ListFunctionsCommand({ MaxItems: 50, ...(marker ? { Marker: marker } : {}) }),
      );
      pages++;
      expect((out.Functions ?? []).length).toBeLessThanOrEqual(50);
      for (const f of out.Functions ?? []) names.push(`${f.FunctionName ?? ''}:${f.PackageType ?? ''}`);
      marker = out.NextMarker;
    } while (marker);
    expect(pages).toBe(3);
    expect(names).toHaveLength(120);
    expect(names.filter((n) => n.endsWith(':Zip'))).toHaveLength(12);
  });

  it('GetFunction returns ImageUri, ResolvedImageUri with the pushed digest, tags, and each version its own image', async () => {
    const { emu, client } = await start();
    const fleet = emu.fleet;
    fleet.createFunction({
      name: 'api',
      imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.0',
      tags: { team: 'a' },
    });
    fleet.publishVersion({ name: 'api' });
    const pushed = fleet.updateFunctionCode({
      name: 'api',
      imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.1',
    });
    fleet.publishVersion({ name: 'api' });
    fleet.setAlias({ name: 'api', alias: 'live', version: '2', weights: { '1': 0.1 } });

    const latest = await client.send(new GetFunctionCommand({ FunctionName: 'api' }));
    expect(latest.Code?.ImageUri).toBe('123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.1');
    expect(latest.Code?.ResolvedImageUri).toBe(
      `123456789012.dkr.ecr.us-east-1.amazonaws.com/api@${pushed.digest ?? ''}`,
    );
    expect(latest.Tags).toEqual({ team: 'a' });
    expect(latest.Configuration?.PackageType).toBe('Image');

    const v1 = await client.send(new GetFunctionCommand({ FunctionName: 'api', Qualifier: '1' }));
    expect(v1.Code?.ImageUri).toBe('123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.0');
    expect(v1.Configuration?.FunctionArn).toBe('arn:aws:lambda:us-east-1:123456789012:function:api:1');

    const versions = await client.send(new ListVersionsByFunctionCommand({ FunctionName: 'api' }));
    expect(versions.Versions?.map((v) => v.Version)).toEqual(['$LATEST', '1', '2']);
    const aliases = await client.send(new ListAliasesCommand({ FunctionName: 'api' }));
    expect(aliases.Aliases?.[0]).toMatchObject({
      Name: 'live',
      FunctionVersion: '2',
      RoutingConfig: { AdditionalVersionWeights: { '1': 0.1 } },
    });
  });

  it('an unknown function is ResourceNotFoundException; fleet changes are in CloudTrail under lambda.amazonaws.com', async () => {
    const { emu, client } = await start();
    await expect(client.send(new GetFunctionCommand({ FunctionName: 'nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    emu.fleet.createFunction({ name: 'f' });
    emu.fleet.updateFunctionCode({ name: 'f', imageUri: 'public.ecr.aws/x/f:2' });
    const trail = new CloudTrailClient({ region: 'us-east-1', endpoint: emu.endpoint, credentials });
    const out = await trail.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] }),
    );
    trail.destroy();
    expect(out.Events?.map((e) => e.EventName)).toEqual([
      'UpdateFunctionCode20150331v2',
      'CreateFunction20150331',
    ]);
    expect(out.Events?.every((e) => e.EventSource === 'lambda.amazonaws.com')).toBe(true);
  });

  it('throttles the control plane at 15 a second (429 TooManyRequestsException) while GetFunction has its own bucket', async () => {
    const { emu, client } = await start(true);
    emu.fleet.createFunction({ name: 'f' });
    const list = await Promise.allSettled(
      Array.from({ length: 30 }, () => client.send(new ListFunctionsCommand({}))),
    );
    const throttled = list.filter((r) => r.status === 'rejected');
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled[0]).toMatchObject({ reason: { name: 'TooManyRequestsException' } });
    // The GetFunction bucket is untouched by the ListFunctions burst.
    await expect(client.send(new GetFunctionCommand({ FunctionName: 'f' }))).resolves.toBeDefined();
  });

  it('faults: 5xx errors and denied actions with the lambda: permission in the message', async () => {
    const { emu, client } = await start();
    emu.fleet.createFunction({ name: 'f' });
    emu.faults.serverErrors(1, ['GetFunction']);
    await expect(client.send(new GetFunctionCommand({ FunctionName: 'f' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 500 },
    });
    emu.faults.denyActions(['ListAliases']);
    await expect(client.send(new ListAliasesCommand({ FunctionName: 'f' }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('lambda:ListAliases') as unknown as string,
    });
  });
});

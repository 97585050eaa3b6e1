import { afterEach, describe, expect, it } from 'vitest';
import { credentialsFor } from '../../adapters/aws/credentials.js';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/SightlineReader';
const EXTERNAL_ID = 'tenant-7f3a-external-id';
const MASTER = { accessKeyId: 'AKIDMASTEREXAMPLE', secretAccessKey: 'master-secret-not-logged' };

let emu: EcsEmulator | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

describe('AWS credentials', () => {
  it('default is the SDK chain (undefined); static keys are passed as given', () => {
    expect(credentialsFor({ source: 'default' }, 'us-east-1')).toBeUndefined();
    expect(
      credentialsFor({ source: 'static', accessKeyId: 'AKID', secretAccessKey: 'secret' }, 'us-east-1'),
    ).toEqual({ accessKeyId: 'AKID', secretAccessKey: 'secret' });
    expect(
      credentialsFor(
        { source: 'static', accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: 'tok' },
        'us-east-1',
      ),
    ).toEqual({ accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: 'tok' });
  });

  it('assumeRole calls STS AssumeRole with the role, external id and session name, on first use only', async () => {
    emu = await startEcsEmulator();
    emu.sts.requiredExternalIds.set(ROLE_ARN, EXTERNAL_ID);
    const creds = credentialsFor(
      { source: 'assumeRole', roleArn: ROLE_ARN, externalId: EXTERNAL_ID, sessionName: 'sightline-test' },
      'us-east-1',
      { stsEndpoint: emu.endpoint, masterCredentials: MASTER },
    );
    expect(typeof creds).toBe('function');
    expect(emu.sts.calls).toHaveLength(0);
    if (typeof creds !== 'function') throw new Error('not a provider');
    const identity = await creds();
    expect(emu.sts.calls).toHaveLength(1);
    expect(emu.sts.calls[0]).toMatchObject({
      roleArn: ROLE_ARN,
      externalId: EXTERNAL_ID,
      roleSessionName: 'sightline-test',
      accessKeyId: identity.accessKeyId,
    });
    expect(identity.accessKeyId).not.toBe(MASTER.accessKeyId);
  });

  it('a wrong external id is refused by STS when the credentials are first used', async () => {
    emu = await startEcsEmulator();
    emu.sts.requiredExternalIds.set(ROLE_ARN, EXTERNAL_ID);
    const creds = credentialsFor(
      { source: 'assumeRole', roleArn: ROLE_ARN, externalId: 'wrong-id', sessionName: 'sightline' },
      'us-east-1',
      { stsEndpoint: emu.endpoint, masterCredentials: MASTER },
    );
    if (typeof creds !== 'function') throw new Error('not a provider');
    await expect(creds()).rejects.toThrow();
  });
});

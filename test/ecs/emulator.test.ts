import { afterEach, describe, expect, it } from 'vitest';
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListServicesCommand,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { createRegionClients, destroyRegionClients } from '../../adapters/ecs/client.js';
import type { RegionClients } from '../../adapters/ecs/client.js';
import { startEcsEmulator } from '../../adapters/ecs/emulator/index.js';
import type { EcsEmulator } from '../../adapters/ecs/emulator/index.js';
import { ecsConfig } from './helpers.js';

let emu: EcsEmulator | undefined;
let clients: RegionClients[] = [];

afterEach(async () => {
  destroyRegionClients(clients);
  clients = [];
  await emu?.stop();
  emu = undefined;
});

async function start(
  options: Parameters<typeof startEcsEmulator>[0] = {},
): Promise<{ ecs: ECSClient; trail: CloudTrailClient; emu: EcsEmulator }> {
  emu = await startEcsEmulator(options);
  clients = createRegionClients(ecsConfig(emu.endpoint), { maxAttempts: 1 });
  const [c] = clients;
  if (!c) throw new Error('no client');
  return { ecs: c.ecs, trail: c.cloudTrail, emu };
}

const errorName = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'no error',
    (e: unknown) => (e instanceof Error ? e.name : 'non-error'),
  );

describe('ECS emulator (through the real SDK clients)', () => {
  it('enforces batch limits and ListServices default page size of 10; pages with opaque tokens', async () => {
    const { ecs, emu: e } = await start();
    e.fleet.createCluster({ name: 'c' });
    const td = e.fleet.registerTaskDefinition({ family: 'f', containers: [{ name: 'a', image: 'nginx:1' }] });
    for (let i = 0; i < 25; i++)
      e.fleet.createService({ cluster: 'c', name: `s${i}`, taskDefinition: td.arn, desiredCount: 5 });
    const first = await ecs.send(new ListServicesCommand({ cluster: 'c' }));
    expect(first.serviceArns).toHaveLength(10);
    expect(first.nextToken).toBeDefined();
    const all: string[] = [];
    let token: string | undefined;
    do {
      const page = await ecs.send(
        new ListServicesCommand({ cluster: 'c', maxResults: 100, ...(token ? { nextToken: token } : {}) }),
      );
      all.push(...(page.serviceArns ?? []));
      token = page.nextToken;
    } while (token);
    expect(new Set(all).size).toBe(25);
    expect(
      await errorName(ecs.send(new DescribeServicesCommand({ cluster: 'c', services: all.slice(0, 11) }))),
    ).toBe('InvalidParameterException');
    const tasks = await ecs.send(new ListTasksCommand({ cluster: 'c', maxResults: 100 }));
    expect(tasks.taskArns).toHaveLength(100);
    const more = await ecs.send(
      new ListTasksCommand({ cluster: 'c', maxResults: 100, nextToken: tasks.nextToken }),
    );
    expect(more.taskArns).toHaveLength(25);
    expect(
      await errorName(
        ecs.send(
          new DescribeTasksCommand({
            cluster: 'c',
            tasks: [...(tasks.taskArns ?? []), ...(more.taskArns ?? []).slice(0, 1)],
          }),
        ),
      ),
    ).toBe('InvalidParameterException');
    const described = await ecs.send(
      new DescribeTasksCommand({
        cluster: 'c',
        tasks: [(tasks.taskArns ?? [])[0] ?? '', 'arn:aws:ecs:us-east-1:123456789012:task/c/nope'],
        include: ['TAGS'],
      }),
    );
    expect(described.tasks).toHaveLength(1);
    expect(described.failures).toEqual([
      { arn: 'arn:aws:ecs:us-east-1:123456789012:task/c/nope', reason: 'MISSING' },
    ]);
    expect(described.tasks?.[0]?.createdAt).toBeInstanceOf(Date);
    expect(await errorName(ecs.send(new ListTasksCommand({ cluster: 'missing' })))).toBe(
      'ClusterNotFoundException',
    );
  });

  it('LookupEvents: one attribute, newest first, 50 a page, NextToken bound to its parameters; records reads', async () => {
    const { trail, ecs, emu: e } = await start({ throttling: { enabled: false } });
    for (let i = 0; i < 60; i++) e.fleet.createCluster({ name: `c${i}` });
    await ecs.send(new ListTasksCommand({ cluster: 'c0' }));
    const q = { LookupAttributes: [{ AttributeKey: 'ReadOnly' as const, AttributeValue: 'false' }] };
    const p1 = await trail.send(new LookupEventsCommand(q));
    expect(p1.Events).toHaveLength(50);
    const times = (p1.Events ?? []).map((x) => x.EventTime?.getTime() ?? 0);
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const p2 = await trail.send(new LookupEventsCommand({ ...q, NextToken: p1.NextToken }));
    expect(p2.Events).toHaveLength(10);
    expect(p2.NextToken).toBeUndefined();
    expect(new Set([...(p1.Events ?? []), ...(p2.Events ?? [])].map((x) => x.EventId)).size).toBe(60);
    expect(
      await errorName(
        trail.send(
          new LookupEventsCommand({
            LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: 'ecs.amazonaws.com' }],
            NextToken: p1.NextToken,
          }),
        ),
      ),
    ).toBe('InvalidNextTokenException');
    expect(
      await errorName(
        trail.send(
          new LookupEventsCommand({
            LookupAttributes: [
              { AttributeKey: 'ReadOnly', AttributeValue: 'false' },
              { AttributeKey: 'EventName', AttributeValue: 'CreateCluster' },
            ],
          }),
        ),
      ),
    ).toBe('InvalidLookupAttributesException');
    const reads = await trail.send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'ListTasks' }],
      }),
    );
    expect(reads.Events?.[0]).toMatchObject({
      EventName: 'ListTasks',
      ReadOnly: 'true',
      EventSource: 'ecs.amazonaws.com',
    });
  });

  it('throttles with AWS burst/refill figures (scaled) and answers ThrottlingException', async () => {
    let now = 1_000_000;
    const { ecs, emu: e } = await start({ now: () => now, throttling: { enabled: true, scale: 0.1 } });
    e.fleet.createCluster({ name: 'c' });
    // cluster-resource-read: burst 100 x 0.1 = 10 calls, then refill 2 per second.
    const outcomes: string[] = [];
    for (let i = 0; i < 12; i++)
      outcomes.push(await errorName(ecs.send(new ListTasksCommand({ cluster: 'c' }))));
    expect(outcomes.filter((o) => o === 'no error')).toHaveLength(10);
    expect(outcomes.slice(10)).toEqual(['ThrottlingException', 'ThrottlingException']);
    now += 1000;
    expect(await errorName(ecs.send(new ListTasksCommand({ cluster: 'c' })))).toBe('no error');
    expect(await errorName(ecs.send(new ListTasksCommand({ cluster: 'c' })))).toBe('no error');
    expect(await errorName(ecs.send(new ListTasksCommand({ cluster: 'c' })))).toBe('ThrottlingException');
    expect(e.calls.throttled('ListTasks')).toBe(3);
  });
});

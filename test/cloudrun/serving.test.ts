/**
 * The pure "running means serving" mapping of a Cloud Run v2 Service: which revisions are listed as
 * its ReplicaSets (`servingRevisions`), where its current images come from (`serviceImageSource`),
 * when its latest created revision counts as failed (`failedLatestRevision`), and that given serving
 * containers replace the template's in the Deployment.
 */
import { describe, expect, it } from 'vitest';
import {
  failedLatestRevision,
  serviceImageSource,
  serviceToObject,
  servingRevisions,
} from '../../adapters/cloudrun/normalizer.js';
import type { IService, ServiceImageSource } from '../../adapters/cloudrun/normalizer.js';
import { toContainerImage } from '../../src/model/index.js';

const SVC = 'projects/p/locations/us-central1/services/web';
const rev = (short: string): string => `${SVC}/revisions/${short}`;
const READY = { type: 'Ready', state: 'CONDITION_SUCCEEDED' } as const;
const FAILED = { type: 'Ready', state: 'CONDITION_FAILED', message: 'container failed to start' } as const;
const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' as const;
const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' as const;

function service(over: IService): IService {
  return { name: SVC, template: { containers: [{ name: 'app', image: 'web:template' }] }, ...over };
}

const cases: Array<{
  name: string;
  s: IService;
  serving: string[];
  source: ServiceImageSource;
  failed?: string;
}> = [
  {
    name: 'steady: the latest revision serves everything',
    s: service({
      latestCreatedRevision: rev('web-a'),
      latestReadyRevision: rev('web-a'),
      terminalCondition: READY,
      trafficStatuses: [{ type: REVISION, revision: 'web-a', percent: 100 }],
    }),
    serving: ['web-a'],
    source: { kind: 'template' },
  },
  {
    name: 'rollout in progress: A serves, B is starting',
    s: service({
      latestCreatedRevision: rev('web-b'),
      latestReadyRevision: rev('web-a'),
      reconciling: true,
      terminalCondition: READY,
      trafficStatuses: [{ type: REVISION, revision: 'web-a', percent: 100 }],
    }),
    serving: ['web-a', 'web-b'],
    source: { kind: 'revisions', revisions: ['web-a'] },
  },
  {
    name: 'failed rollout: A still serves, B failed',
    s: service({
      latestCreatedRevision: rev('web-b'),
      latestReadyRevision: rev('web-a'),
      reconciling: false,
      terminalCondition: FAILED,
      trafficStatuses: [{ type: REVISION, revision: 'web-a', percent: 100 }],
    }),
    serving: ['web-a'],
    source: { kind: 'revisions', revisions: ['web-a'] },
    failed: 'web-b',
  },
  {
    name: 'failed rollout with traffic on LATEST whose status names no revision',
    s: service({
      latestCreatedRevision: rev('web-b'),
      latestReadyRevision: rev('web-a'),
      terminalCondition: FAILED,
      trafficStatuses: [{ type: LATEST, percent: 100 }],
    }),
    serving: ['web-a'],
    source: { kind: 'revisions', revisions: ['web-a'] },
    failed: 'web-b',
  },
  {
    name: 'first deploy starting: nothing serves yet, the template is what is coming',
    s: service({ latestCreatedRevision: rev('web-a'), reconciling: true, trafficStatuses: [] }),
    serving: ['web-a'],
    source: { kind: 'template' },
  },
  {
    name: 'first deploy failed: nothing runs',
    s: service({ latestCreatedRevision: rev('web-a'), terminalCondition: FAILED, trafficStatuses: [] }),
    serving: [],
    source: { kind: 'none' },
    failed: 'web-a',
  },
  {
    name: 'a failure while the next rollout reconciles is not the new revision failing',
    s: service({
      latestCreatedRevision: rev('web-c'),
      latestReadyRevision: rev('web-a'),
      reconciling: true,
      terminalCondition: FAILED,
      trafficStatuses: [{ type: REVISION, revision: 'web-a', percent: 100 }],
    }),
    serving: ['web-a', 'web-c'],
    source: { kind: 'revisions', revisions: ['web-a'] },
  },
  {
    name: 'traffic split including the latest: both serve, the larger share first',
    s: service({
      latestCreatedRevision: rev('web-b'),
      latestReadyRevision: rev('web-b'),
      terminalCondition: READY,
      trafficStatuses: [
        { type: REVISION, revision: 'web-a', percent: 10 },
        { type: REVISION, revision: 'web-b', percent: 90 },
      ],
    }),
    serving: ['web-a', 'web-b'],
    source: { kind: 'revisions', revisions: ['web-b', 'web-a'] },
  },
  {
    name: 'a tagged revision at 0 % serves on its tag URL; an untagged one at 0 % does not',
    s: service({
      latestCreatedRevision: rev('web-c'),
      latestReadyRevision: rev('web-c'),
      terminalCondition: READY,
      trafficStatuses: [
        { type: REVISION, revision: 'web-c', percent: 100 },
        { type: REVISION, revision: 'web-b', percent: 0, tag: 'canary' },
        { type: REVISION, revision: 'web-a', percent: 0 },
      ],
    }),
    serving: ['web-b', 'web-c'],
    source: { kind: 'revisions', revisions: ['web-c', 'web-b'] },
  },
];

describe('running means serving (pure mapping)', () => {
  it.each(cases)('$name', ({ s, serving, source, failed }) => {
    expect([...servingRevisions(s)].sort()).toEqual(serving);
    expect(serviceImageSource(s)).toEqual(source);
    expect(failedLatestRevision(s)).toBe(failed);
  });

  it('serving containers replace the template in the Deployment; the status stays the provider word', () => {
    const s = cases[2]?.s ?? {};
    const servingImage = toContainerImage('web:good', `sha256:${'a'.repeat(64)}`);
    const obj = serviceToObject(
      'p',
      'us-central1',
      s,
      () => {
        throw new Error('the template is not read when serving containers are given');
      },
      [{ name: 'app', image: servingImage }],
    );
    expect(obj.kind === 'workload' && obj.workload.containers).toEqual([
      { name: 'app', image: servingImage },
    ]);
    expect(obj.kind === 'workload' && obj.workload.status).toBe('Failed');
    // Without serving containers the template is resolved, as before.
    const template = serviceToObject('p', 'us-central1', s, (ref) =>
      toContainerImage(ref, undefined, 'pending-start', ''),
    );
    expect(template.kind === 'workload' && template.workload.containers[0]?.image.reference).toBe(
      'web:template',
    );
  });
});

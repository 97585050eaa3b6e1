/**
 * What a deploy costs in reads once the watch runs (issue #12: 5.5–7.3 reads a deploy, target ≤ 3).
 * The emulator logs each v2 deploy as Cloud Run does: the operation's start and end activity
 * entries, then the revision's Ready system event (three entries). The start costs no read (its end
 * follows), and the end and the Ready event, which arrive together, are read in one round (the
 * source's hint settle window): GetService and the new revision's GetRevision, the digest coming
 * with the Ready event. A round that reads many services of one region reads them by list. Real SDK clients against the emulator, one engine per kind source.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../adapters/cloudrun/emulator/index.js';
import type { EventLog, Harness } from './harness.js';
import { eventWorkload, sourcesOf, startHarness, watchSource } from './harness.js';

const P = 'proj-reads';
const R = 'us-central1';
const SVC = 'run.googleapis.com/Service';
const REV = 'run.googleapis.com/Revision';
const READS_PER_DEPLOY_MAX = 3;

let h: Harness;
let log: EventLog;

beforeAll(async () => {
  h = await startHarness({ projects: [P], regions: [R], emulator: { lroAudit: true, readyDelayMs: 50 } });
  log = await watchSource(await sourcesOf(h, P));
});
afterAll(async () => {
  await log.stop();
  await h.close();
});

/** Provider reads made so far: every Run v2 and v1 call (Logging calls are the feed's). */
function reads(): number {
  return h.emu.calls
    .names()
    .reduce((n, rpc) => (rpc.includes('Logging') ? n : n + h.emu.calls.count(rpc)), 0);
}

async function deployed(name: string, image: string): Promise<void> {
  await log.waitFor(
    (e) => eventWorkload(e, SVC, name)?.containers[0]?.image.digest === digestOf(image),
    `${name} with its digest`,
  );
  await log.waitFor(
    (e) =>
      e.type === 'ADDED' &&
      e.object.kind === 'workload' &&
      e.object.workload.nativeKind === REV &&
      e.object.workload.owners[0]?.name === name,
    `${name}'s revision`,
  );
}

describe('reads per deploy', () => {
  it(`one deploy at a time: at most ${READS_PER_DEPLOY_MAX} reads each`, async () => {
    const before = reads();
    const deploys = 5;
    for (let i = 0; i < deploys; i++) {
      const image = `us-docker.pkg.dev/${P}/app/one-${i}:1`;
      h.emu.fleet.deployService(P, R, `one-${i}`, image);
      await deployed(`one-${i}`, image);
    }
    const perDeploy = (reads() - before) / deploys;
    expect(perDeploy).toBeLessThanOrEqual(READS_PER_DEPLOY_MAX);
  });

  it('20 deploys at once: read by list (a page for the region, not a Get each), every one arrives', async () => {
    const before = reads();
    const names = Array.from({ length: 20 }, (_, i) => `burst-${i}`);
    for (const name of names) h.emu.fleet.deployService(P, R, name, `us-docker.pkg.dev/${P}/app/${name}:1`);
    for (const name of names) await deployed(name, `us-docker.pkg.dev/${P}/app/${name}:1`);
    const perDeploy = (reads() - before) / names.length;
    // One round reads the region's services and revisions with ListServices and ListRevisions.
    expect(perDeploy).toBeLessThan(1);
  });
});

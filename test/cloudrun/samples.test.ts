/**
 * The real audit samples in test/fixtures/samples/cloudrun-audit/ (MANIFEST.md there says where
 * each came from): mapped by the pure mapper, and written into the emulator's log (encoded as
 * real AuditLog protos) and read back through the adapter's source: each gives the right hint or
 * is deliberately ignored; none crashes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntryToHints, workloadKey } from '../../adapters/cloudrun/index.js';
import type { JsonObject } from '../../adapters/cloudrun/json.js';
import type { Harness } from './harness.js';
import { collectHints, metricValue, samplesDir, sourceFor, startHarness } from './harness.js';

function sample(name: string): JsonObject {
  return JSON.parse(readFileSync(path.join(samplesDir, 'cloudrun-audit', name), 'utf8')) as JsonObject;
}

describe('auditEntryToHints on the real samples', () => {
  it('CreateService (v1, at_sign_type) -> changed hint for that service', () => {
    const m = auditEntryToHints(sample('CreateService-1.json'));
    expect(m).toMatchObject({ outcome: 'mapped', method: 'CreateService' });
    expect(m.hints).toEqual([
      {
        type: 'changed',
        target: { kind: 'service', project: 'some-project', region: 'us-west1', name: 'cloudrun-exfil' },
      },
    ]);
  });

  it('SetIamPolicy (empty service_name) -> deliberately ignored', () => {
    const m = auditEntryToHints(sample('SetIamPolicy-1.json'));
    expect(m.outcome).toBe('ignored');
    expect(m.hints).toEqual([]);
  });

  it('system event without methodName -> changed hint for the service', () => {
    const m = auditEntryToHints(sample('SystemEvent-ReadyCondition-1.json'));
    expect(m).toMatchObject({ outcome: 'mapped', method: 'SystemEvent' });
    expect(m.hints).toEqual([
      {
        type: 'changed',
        target: {
          kind: 'service',
          project: 'dynatrace-gcp-extension',
          region: 'us-central1',
          name: 'user-test',
        },
      },
    ]);
  });

  it('bad and foreign entries are classified, never thrown', () => {
    const create = sample('CreateService-1.json');
    expect(auditEntryToHints(null).outcome).toBe('malformed');
    expect(auditEntryToHints({ textPayload: 'x' }).outcome).toBe('unknown');
    expect(
      auditEntryToHints({
        ...create,
        protoPayload: { '@type': 'type.googleapis.com/google.cloud.other.Thing' },
      }).outcome,
    ).toBe('unknown');
    expect(
      auditEntryToHints({ ...create, resource: { type: 'cloud_run_revision', labels: {} } }).outcome,
    ).toBe('malformed');
    const payload = create['protoPayload'] as JsonObject;
    expect(
      auditEntryToHints({ ...create, protoPayload: { ...payload, serviceName: 'compute.googleapis.com' } })
        .outcome,
    ).toBe('ignored');
    expect(
      auditEntryToHints({
        ...create,
        protoPayload: { ...payload, methodName: 'google.cloud.run.v1.Services.Frobnicate' },
      }).outcome,
    ).toBe('unknown');
    expect(
      auditEntryToHints({ ...create, protoPayload: { ...payload, status: { code: 7, message: 'denied' } } })
        .outcome,
    ).toBe('ignored');
  });

  it('v2 deletes and revision, job and worker-pool resources map to their kinds', () => {
    const base = (type: string, labels: Record<string, string>, methodName: string): JsonObject => ({
      logName: 'projects/p1/logs/cloudaudit.googleapis.com%2Factivity',
      resource: { type, labels: { project_id: 'p1', location: 'us-east1', ...labels } },
      protoPayload: {
        '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
        serviceName: 'run.googleapis.com',
        methodName,
      },
    });
    expect(
      auditEntryToHints(
        base(
          'cloud_run_revision',
          { service_name: 's', revision_name: 's-1' },
          'google.cloud.run.v2.Revisions.DeleteRevision',
        ),
      ).hints,
    ).toEqual([
      {
        type: 'deleted',
        target: { kind: 'revision', project: 'p1', region: 'us-east1', service: 's', name: 's-1' },
      },
    ]);
    expect(
      auditEntryToHints(
        base('cloud_run_revision', { service_name: 's' }, 'google.cloud.run.v2.Services.DeleteService'),
      ).hints[0]?.type,
    ).toBe('deleted');
    expect(
      auditEntryToHints(base('cloud_run_job', { job_name: 'j' }, 'google.cloud.run.v1.Jobs.ReplaceJob'))
        .hints,
    ).toEqual([{ type: 'changed', target: { kind: 'job', project: 'p1', region: 'us-east1', name: 'j' } }]);
    expect(
      auditEntryToHints(
        base(
          'cloud_run_worker_pool',
          { worker_pool_name: 'w' },
          'google.cloud.run.v2.WorkerPools.UpdateWorkerPool',
        ),
      ).hints,
    ).toEqual([
      { type: 'changed', target: { kind: 'workerPool', project: 'p1', region: 'us-east1', name: 'w' } },
    ]);
  });
});

describe('the samples through the emulator and the adapter source', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      projects: ['some-project', 'dynatrace-gcp-extension'],
      regions: ['us-west1', 'us-central1'],
    });
    h.emu.fleet.deployService(
      'some-project',
      'us-west1',
      'cloudrun-exfil',
      'us-west1-docker.pkg.dev/some-project/abc-test/run_services_create_test',
      { silent: true },
    );
    h.emu.fleet.deployService(
      'dynatrace-gcp-extension',
      'us-central1',
      'user-test',
      'us-docker.pkg.dev/cloudrun/container/hello',
      { silent: true },
    );
    h.emu.fleet.writeAudit('some-project', sample('CreateService-1.json'));
    h.emu.fleet.writeAudit('some-project', sample('SetIamPolicy-1.json'));
    h.emu.fleet.writeAudit('some-project', {
      ...sample('CreateService-1.json'),
      insertId: 'broken-1',
      resource: { type: 'cloud_run_revision', labels: { project_id: 'some-project' } },
    });
    h.emu.fleet.writeAudit('dynatrace-gcp-extension', sample('SystemEvent-ReadyCondition-1.json'));
  });
  afterAll(async () => h.close());

  const OLD_CURSOR = 'v1|2020-01-01T00:00:00.000000000Z|';

  it('CreateService gives a hint for the service, whose read is its state; SetIamPolicy and a broken entry are counted and skipped', async () => {
    const source = await sourceFor(h, 'some-project');
    const log = collectHints(source, OLD_CURSOR);
    const key = workloadKey(
      'some-project',
      'us-west1',
      'projects/some-project/locations/us-west1/services/cloudrun-exfil',
    );
    const hint = await log.waitFor((x) => x.type === 'family' && x.key === key, 'exfil');
    // As the engine does: the hint's resource name goes with the key the store does not hold.
    const state = await source.get(key, 'ref' in hint ? hint.ref : undefined);
    expect(state?.kind === 'workload' && state.workload.name).toBe('cloudrun-exfil');
    await log.ready();
    log.sub.unsubscribe();
    expect(log.errors).toEqual([]);
    expect(await metricValue(h.metrics, 'sightline_audit_entries_total', { outcome: 'ignored' })).toBe(1);
    expect(await metricValue(h.metrics, 'sightline_audit_entries_total', { outcome: 'malformed' })).toBe(1);
    expect(log.hints.filter((x) => x.type === 'family' && x.key === key)).toHaveLength(1);
  });

  it('the system event (no methodName) gives a hint for its service', async () => {
    const log = collectHints(await sourceFor(h, 'dynatrace-gcp-extension'), OLD_CURSOR);
    const key = workloadKey(
      'dynatrace-gcp-extension',
      'us-central1',
      'projects/dynatrace-gcp-extension/locations/us-central1/services/user-test',
    );
    await log.waitFor((x) => x.type === 'family' && x.key === key, 'user-test');
    log.sub.unsubscribe();
    expect(log.errors).toEqual([]);
  });
});

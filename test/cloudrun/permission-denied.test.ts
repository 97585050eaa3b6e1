/**
 * Cloud Run's PERMISSION_DENIED through the real gRPC clients against the emulator: the call
 * policy turns it into a PermissionDeniedError naming the missing permission, read from the
 * google.rpc.ErrorInfo detail, else from GCP's message text, else from the operation; the error
 * keeps gRPC code 7 and the call is counted as `permission_denied`. Other RPCs and errors are
 * untouched, and `allowAll` lifts the denial.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { asyncScheduler } from 'rxjs';
import { startCloudRunEmulator } from '../../adapters/cloudrun/emulator/index.js';
import type { CloudRunEmulator } from '../../adapters/cloudrun/emulator/index.js';
import { createCloudRunClients } from '../../adapters/cloudrun/client.js';
import type { CloudRunClients } from '../../adapters/cloudrun/client.js';
import { RunLister } from '../../adapters/cloudrun/lister.js';
import {
  CloudRunPermissionDeniedError,
  deniedPermissionOf,
  grpcCode,
  isNotFound,
} from '../../adapters/cloudrun/call-policy.js';
import { CoreMetrics, Registry } from '../../src/runtime/metrics.js';
import { ApiBudget } from '../../src/watch/budget.js';
import { PermissionDeniedError, deniedPermission } from '../../src/watch/source.js';
import { configFor } from './harness.js';

const PROJECT = 'proj-alpha';
const REGION = 'us-central1';
const WORKER_POOLS = 'google.cloud.run.v2.WorkerPools/ListWorkerPools';

let emu: CloudRunEmulator | undefined;
let clients: CloudRunClients | undefined;
afterEach(async () => {
  await clients?.close();
  await emu?.stop();
  clients = undefined;
  emu = undefined;
});

async function setup(): Promise<{ emu: CloudRunEmulator; lister: RunLister; metrics: CoreMetrics }> {
  emu = await startCloudRunEmulator();
  emu.fleet.addProject(PROJECT, [REGION]);
  emu.fleet.deployService(PROJECT, REGION, 'shop', 'us-docker.pkg.dev/p/r/shop:1');
  clients = await createCloudRunClients(configFor(emu, [PROJECT], [REGION]), PROJECT);
  const metrics = new CoreMetrics(new Registry());
  const deps = { budget: new ApiBudget({}, 1, asyncScheduler), metrics, scheduler: asyncScheduler };
  return { emu, lister: new RunLister(clients, deps), metrics };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
}

describe('Cloud Run PERMISSION_DENIED', () => {
  it('names the permission from the ErrorInfo detail, keeps code 7 and GCP message, counts permission_denied', async () => {
    const h = await setup();
    // A permission that is not the operation's, so only the ErrorInfo/message can have named it.
    h.emu.faults.denyPermission(WORKER_POOLS, 'run.workerpools.listAll');
    const err = await failure(h.lister.workerPools(PROJECT, REGION, ''));
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err).toBeInstanceOf(CloudRunPermissionDeniedError);
    expect(deniedPermission(err)).toBe('run.workerpools.listAll');
    expect(grpcCode(err)).toBe(GrpcStatus.PERMISSION_DENIED);
    expect((err as Error).message).toContain(
      `Permission 'run.workerpools.listAll' denied on resource 'projects/${PROJECT}/locations/${REGION}' (or resource may not exist).`,
    );
    const calls = (await h.metrics.apiCalls.get()).values.find(
      (v) => v.labels.operation === 'ListWorkerPools',
    );
    expect(calls?.labels.outcome).toBe('permission_denied');
    // Other RPCs are not denied.
    expect((await h.lister.services(PROJECT, REGION, '')).items).toHaveLength(1);
    h.emu.faults.allowAll();
    expect((await h.lister.workerPools(PROJECT, REGION, '')).items).toEqual([]);
  });

  it("the emulator sends GCP's ErrorInfo detail, which gax decodes; ErrorInfo wins over the message", async () => {
    const h = await setup();
    h.emu.faults.denyPermission(WORKER_POOLS, 'run.workerpools.list');
    const raw = await failure(
      clients?.workerPools.listWorkerPools(
        { parent: `projects/${PROJECT}/locations/${REGION}` },
        { autoPaginate: false },
      ) ?? Promise.resolve(),
    );
    expect(raw).toMatchObject({
      code: GrpcStatus.PERMISSION_DENIED,
      reason: 'IAM_PERMISSION_DENIED',
      domain: 'iam.googleapis.com',
      errorInfoMetadata: {
        permission: 'run.workerpools.list',
        resource: `projects/${PROJECT}/locations/${REGION}`,
      },
    });
    const both = Object.assign(new Error("7 PERMISSION_DENIED: Permission 'run.jobs.list' denied on x"), {
      errorInfoMetadata: { permission: 'run.workerpools.list' },
    });
    expect(deniedPermissionOf('ListServices', both)).toBe('run.workerpools.list');
  });

  it('without ErrorInfo, names the permission from the message text', async () => {
    const h = await setup();
    h.emu.faults.denyPermission(WORKER_POOLS, 'run.workerpools.listAll', { errorInfo: false });
    const err = await failure(h.lister.workerPools(PROJECT, REGION, ''));
    expect(deniedPermission(err)).toBe('run.workerpools.listAll');
  });

  it('without either, falls back to the operation table (List and Get)', async () => {
    const h = await setup();
    h.emu.faults.failNext(WORKER_POOLS, GrpcStatus.PERMISSION_DENIED);
    h.emu.faults.failNext('google.cloud.run.v2.Services/GetService', GrpcStatus.PERMISSION_DENIED);
    expect(deniedPermission(await failure(h.lister.workerPools(PROJECT, REGION, '')))).toBe(
      'run.workerpools.list',
    );
    const name = `projects/${PROJECT}/locations/${REGION}/services/shop`;
    expect(deniedPermission(await failure(h.lister.getService(name)))).toBe('run.services.get');
  });

  it('leaves other errors as they were (NOT_FOUND still reads as gone, UNAVAILABLE is no denial)', async () => {
    const h = await setup();
    const name = `projects/${PROJECT}/locations/${REGION}/services/missing`;
    expect(await h.lister.getService(name)).toBeUndefined();
    h.emu.faults.failNext(WORKER_POOLS, GrpcStatus.UNAVAILABLE);
    const err = await failure(h.lister.workerPools(PROJECT, REGION, ''));
    expect(deniedPermission(err)).toBeUndefined();
    expect(grpcCode(err)).toBe(GrpcStatus.UNAVAILABLE);
    expect(isNotFound(err)).toBe(false);
  });
});

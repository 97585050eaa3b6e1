/**
 * One page of each Run Admin v2 list call the adapter makes (ListServices, ListRevisions with
 * service `-`, ListJobs, ListExecutions with job `-`, ListWorkerPools, ListLocations), and the
 * matching Get calls, each through `runCall` (budget `run:read`, counted). Page size
 * `RUN_PAGE_SIZE`; the server may return fewer, and the next page token is always followed.
 * NOT_FOUND on a Get resolves to undefined; every other error rejects.
 */
import type { protos } from '@google-cloud/run';
import type { CloudRunClients } from './client.js';
import type { ApiCallDeps } from '../../src/provider/api-call.js';
import { isNotFound, runCall } from './call-policy.js';
import { locationName } from './names.js';

type IService = protos.google.cloud.run.v2.IService;
type IRevision = protos.google.cloud.run.v2.IRevision;
type IJob = protos.google.cloud.run.v2.IJob;
type IExecution = protos.google.cloud.run.v2.IExecution;
type IWorkerPool = protos.google.cloud.run.v2.IWorkerPool;

/** Requested page size for Run v2 lists (the documented maximum is not published; the server may cap it). */
export const RUN_PAGE_SIZE = 500;

export interface Page<T> {
  items: T[];
  /** '' on the last page. */
  next: string;
}

export class RunLister {
  constructor(
    private readonly clients: CloudRunClients,
    private readonly deps: ApiCallDeps,
  ) {}

  async services(project: string, region: string, pageToken: string): Promise<Page<IService>> {
    const [items, , res] = await runCall(this.deps, 'ListServices', () =>
      this.clients.services.listServices(
        { parent: locationName(project, region), pageSize: RUN_PAGE_SIZE, pageToken },
        { autoPaginate: false },
      ),
    );
    return { items, next: res?.nextPageToken ?? '' };
  }

  async revisions(
    project: string,
    region: string,
    pageToken: string,
    service = '-',
  ): Promise<Page<IRevision>> {
    const [items, , res] = await runCall(this.deps, 'ListRevisions', () =>
      this.clients.revisions.listRevisions(
        {
          parent: `${locationName(project, region)}/services/${service}`,
          pageSize: RUN_PAGE_SIZE,
          pageToken,
        },
        { autoPaginate: false },
      ),
    );
    return { items, next: res?.nextPageToken ?? '' };
  }

  async jobs(project: string, region: string, pageToken: string): Promise<Page<IJob>> {
    const [items, , res] = await runCall(this.deps, 'ListJobs', () =>
      this.clients.jobs.listJobs(
        { parent: locationName(project, region), pageSize: RUN_PAGE_SIZE, pageToken },
        { autoPaginate: false },
      ),
    );
    return { items, next: res?.nextPageToken ?? '' };
  }

  async executions(project: string, region: string, pageToken: string, job = '-'): Promise<Page<IExecution>> {
    const [items, , res] = await runCall(this.deps, 'ListExecutions', () =>
      this.clients.executions.listExecutions(
        { parent: `${locationName(project, region)}/jobs/${job}`, pageSize: RUN_PAGE_SIZE, pageToken },
        { autoPaginate: false },
      ),
    );
    return { items, next: res?.nextPageToken ?? '' };
  }

  async workerPools(project: string, region: string, pageToken: string): Promise<Page<IWorkerPool>> {
    const [items, , res] = await runCall(this.deps, 'ListWorkerPools', () =>
      this.clients.workerPools.listWorkerPools(
        { parent: locationName(project, region), pageSize: RUN_PAGE_SIZE, pageToken },
        { autoPaginate: false },
      ),
    );
    return { items, next: res?.nextPageToken ?? '' };
  }

  /** Every item of a list family, all pages. */
  async all<T>(page: (token: string) => Promise<Page<T>>): Promise<T[]> {
    const out: T[] = [];
    let token = '';
    do {
      const p = await page(token);
      out.push(...p.items);
      token = p.next;
    } while (token !== '');
    return out;
  }

  /** Region ids of a project (Locations.ListLocations through the Services client). */
  async locations(project: string): Promise<string[]> {
    return runCall(this.deps, 'ListLocations', async () => {
      const out: string[] = [];
      for await (const l of this.clients.services.listLocationsAsync(
        { name: `projects/${project}` },
        { autoPaginate: false },
      )) {
        if (l.locationId) out.push(l.locationId);
      }
      return out.sort();
    });
  }

  private async getOrUndefined<T>(
    operation: string,
    fn: () => Promise<[T, unknown, unknown]>,
  ): Promise<T | undefined> {
    try {
      const [v] = await runCall(this.deps, operation, fn);
      return v;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  getService(name: string): Promise<IService | undefined> {
    return this.getOrUndefined('GetService', () => this.clients.services.getService({ name }));
  }

  getRevision(name: string): Promise<IRevision | undefined> {
    return this.getOrUndefined('GetRevision', () => this.clients.revisions.getRevision({ name }));
  }

  getJob(name: string): Promise<IJob | undefined> {
    return this.getOrUndefined('GetJob', () => this.clients.jobs.getJob({ name }));
  }

  getExecution(name: string): Promise<IExecution | undefined> {
    return this.getOrUndefined('GetExecution', () => this.clients.executions.getExecution({ name }));
  }

  getWorkerPool(name: string): Promise<IWorkerPool | undefined> {
    return this.getOrUndefined('GetWorkerPool', () => this.clients.workerPools.getWorkerPool({ name }));
  }
}

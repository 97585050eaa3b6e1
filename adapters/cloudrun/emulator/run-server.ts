/**
 * The emulator's Run Admin API v2 (read methods of Services, Revisions, Jobs, Executions,
 * WorkerPools) and google.cloud.location.Locations, served from the Fleet over real gRPC.
 * Write methods answer UNIMPLEMENTED (and are recorded, so a least-privilege test sees them).
 * ListServices / ListJobs / ListWorkerPools reject location `-`; ListRevisions accepts service `-`,
 * ListExecutions accepts job `-`.
 */
import { Server, status as GrpcStatus } from '@grpc/grpc-js';
import type { Fleet } from './fleet.js';
import type { CallLog, Faults } from './faults.js';
import type { EmulatorProtos } from './protos.js';
import type { Wire } from './grpc-util.js';
import { MAX_PAGE_SIZE, RpcError, addService, page as pageOf } from './grpc-util.js';

const PARENT_RE = /^projects\/([^/]+)\/locations\/([^/]+)$/;

function parent(req: Wire): { project: string; region: string; prefix: string } {
  const p = typeof req['parent'] === 'string' ? req['parent'] : '';
  const m = PARENT_RE.exec(p);
  if (!m) throw new RpcError(GrpcStatus.INVALID_ARGUMENT, `invalid parent "${p}"`);
  const [, project = '', region = ''] = m;
  if (region === '-')
    throw new RpcError(GrpcStatus.INVALID_ARGUMENT, 'location "-" is not supported for this collection');
  return { project, region, prefix: `${p}/` };
}

function sortedValues(map: Map<string, Wire>, match: (name: string) => boolean): Wire[] {
  return [...map.entries()]
    .filter(([k]) => match(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, v]) => v);
}

function getter(map: Map<string, Wire>, what: string) {
  return (req: Wire): Wire => {
    const name = typeof req['name'] === 'string' ? req['name'] : '';
    const v = map.get(name);
    if (!v) throw new RpcError(GrpcStatus.NOT_FOUND, `${what} "${name}" not found`);
    return v;
  };
}

type Pager = <T>(items: T[], req: Wire) => { items: T[]; next: string };

function childLister(page: Pager, map: Map<string, Wire>, collection: string, child: string, field: string) {
  const re = new RegExp(`^projects/([^/]+)/locations/([^/]+)/${collection}/([^/]+)$`);
  return (req: Wire): Wire => {
    const p = typeof req['parent'] === 'string' ? req['parent'] : '';
    const m = re.exec(p);
    if (!m) throw new RpcError(GrpcStatus.INVALID_ARGUMENT, `invalid parent "${p}"`);
    const [, project = '', region = '', owner = ''] = m;
    if (region === '-') throw new RpcError(GrpcStatus.INVALID_ARGUMENT, 'location "-" is not supported');
    const base = `projects/${project}/locations/${region}/${collection}/`;
    const items = sortedValues(
      map,
      (k) =>
        k.startsWith(base) &&
        (owner === '-' ? true : k.startsWith(`${base}${owner}/${child}/`)) &&
        k.includes(`/${child}/`),
    );
    const pg = page(items, req);
    return { [field]: pg.items, next_page_token: pg.next };
  };
}

function topLister(page: Pager, map: Map<string, Wire>, field: string) {
  return (req: Wire): Wire => {
    const { prefix } = parent(req);
    const items = sortedValues(
      map,
      (k) => k.startsWith(prefix) && k.slice(prefix.length).split('/').length === 2,
    );
    const pg = page(items, req);
    return { [field]: pg.items, next_page_token: pg.next };
  };
}

export function createRunServer(
  fleet: Fleet,
  protos: EmulatorProtos,
  calls: CallLog,
  faults: Faults,
  maxPageSize = MAX_PAGE_SIZE,
): Server {
  const server = new Server();
  const page = <T>(items: T[], req: Wire) => pageOf(items, req, maxPageSize);
  const services = new Map<string, Wire>();
  const revisions = new Map<string, Wire>();
  // Views over the fleet, refreshed per call (the fleet keeps richer records).
  const refresh = (): void => {
    services.clear();
    for (const [k, v] of fleet.services) services.set(k, v.wire);
    revisions.clear();
    for (const [k, v] of fleet.revisions) revisions.set(k, v.wire);
  };
  const withRefresh =
    (f: (req: Wire) => Wire) =>
    (req: Wire): Wire => {
      refresh();
      return f(req);
    };

  addService(
    server,
    'google.cloud.run.v2.Services',
    protos.services,
    {
      GetService: withRefresh(getter(services, 'Service')),
      ListServices: withRefresh(topLister(page, services, 'services')),
    },
    calls,
    faults,
  );
  addService(
    server,
    'google.cloud.run.v2.Revisions',
    protos.revisions,
    {
      GetRevision: withRefresh(getter(revisions, 'Revision')),
      ListRevisions: withRefresh(childLister(page, revisions, 'services', 'revisions', 'revisions')),
    },
    calls,
    faults,
  );
  addService(
    server,
    'google.cloud.run.v2.Jobs',
    protos.jobs,
    { GetJob: getter(fleet.jobs, 'Job'), ListJobs: topLister(page, fleet.jobs, 'jobs') },
    calls,
    faults,
  );
  addService(
    server,
    'google.cloud.run.v2.Executions',
    protos.executions,
    {
      GetExecution: getter(fleet.executions, 'Execution'),
      ListExecutions: childLister(page, fleet.executions, 'jobs', 'executions', 'executions'),
    },
    calls,
    faults,
  );
  addService(
    server,
    'google.cloud.run.v2.WorkerPools',
    protos.workerPools,
    {
      GetWorkerPool: getter(fleet.workerPools, 'WorkerPool'),
      ListWorkerPools: topLister(page, fleet.workerPools, 'worker_pools'),
    },
    calls,
    faults,
  );
  addService(
    server,
    'google.cloud.location.Locations',
    protos.locations,
    {
      ListLocations: (req: Wire): Wire => {
        const name = typeof req['name'] === 'string' ? req['name'] : '';
        const m = /^projects\/([^/]+)$/.exec(name);
        if (!m) throw new RpcError(GrpcStatus.INVALID_ARGUMENT, `invalid name "${name}"`);
        const locations = fleet
          .regionsOf(m[1] ?? '')
          .map((r) => ({ name: `${name}/locations/${r}`, location_id: r, display_name: r }));
        const pg = page(locations, req);
        return { locations: pg.items, next_page_token: pg.next };
      },
    },
    calls,
    faults,
  );
  return server;
}

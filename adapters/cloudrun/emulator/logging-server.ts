/**
 * The emulator's Cloud Logging v2: ListLogEntries (order `timestamp asc|desc`, page_size ≤ 1000)
 * and TailLogEntries (bidi: the first request names resource_names / filter / buffer_window; the
 * server streams entries written after the session opened, batched per buffer window, in
 * (timestamp, insertId) order). At most `maxTailSessionsPerProject` (10) open sessions per project;
 * more are refused with RESOURCE_EXHAUSTED, as Cloud Logging does. Faults: refused tails, cut
 * streams, unconfirmed tails, suppression_info, errors and slow pages (see Faults).
 */
import { Server, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Fleet } from './fleet.js';
import type { CallLog, Faults } from './faults.js';
import type { EmulatorProtos } from './protos.js';
import type { Wire } from './grpc-util.js';
import { MAX_PAGE_SIZE, RpcError, addService, page } from './grpc-util.js';
import type { StoredEntry } from './log-store.js';
import { compileFilter, matches } from './log-store.js';

export const MAX_TAIL_SESSIONS_PER_PROJECT = 10;
const TAIL_RPC = 'google.logging.v2.LoggingServiceV2/TailLogEntries';

function projectsOf(resourceNames: unknown): string[] {
  if (!Array.isArray(resourceNames)) return [];
  const out: string[] = [];
  for (const r of resourceNames) {
    const m = typeof r === 'string' ? /^projects\/([^/]+)$/.exec(r) : null;
    if (!m) throw new RpcError(GrpcStatus.INVALID_ARGUMENT, `unsupported resource name ${String(r)}`);
    out.push(m[1] ?? '');
  }
  return out;
}

export interface LoggingServerState {
  openTails: () => number;
}

export function createLoggingServer(
  fleet: Fleet,
  protos: EmulatorProtos,
  calls: CallLog,
  faults: Faults,
  maxPageSize = MAX_PAGE_SIZE,
): Server & LoggingServerState {
  const server = new Server() as Server & LoggingServerState;
  const openPerProject = new Map<string, number>();
  let open = 0;
  server.openTails = () => open;

  const tail = (call: ServerDuplexStream<Wire, Wire>): void => {
    calls.record(TAIL_RPC);
    let started = false;
    let closed = false;
    let cleanup: () => void = () => undefined;
    const finish = (code?: GrpcStatus, message?: string): void => {
      if (closed) return;
      closed = true;
      cleanup();
      if (code === undefined || code === GrpcStatus.OK) call.end();
      else call.emit('error', { code, details: message ?? GrpcStatus[code] });
    };
    call.on('cancelled', () => {
      closed = true;
      cleanup();
    });
    call.on('error', () => {
      closed = true;
      cleanup();
    });
    call.on('end', () => finish());
    call.on('data', (req: Wire) => {
      if (started) return;
      started = true;
      const injected = faults.take(TAIL_RPC);
      if (injected) return finish(injected.code, injected.message);
      if (faults.tailRefusals > 0) {
        faults.tailRefusals -= 1;
        return finish(GrpcStatus.RESOURCE_EXHAUSTED, 'Quota exceeded: too many open tail sessions');
      }
      let projects: string[];
      try {
        projects = projectsOf(req['resource_names']);
      } catch (err) {
        return finish(GrpcStatus.INVALID_ARGUMENT, (err as Error).message);
      }
      for (const p of projects) {
        if ((openPerProject.get(p) ?? 0) >= MAX_TAIL_SESSIONS_PER_PROJECT) {
          return finish(GrpcStatus.RESOURCE_EXHAUSTED, `too many open tail sessions for project ${p}`);
        }
      }
      for (const p of projects) openPerProject.set(p, (openPerProject.get(p) ?? 0) + 1);
      open += 1;
      const filter = compileFilter(typeof req['filter'] === 'string' ? req['filter'] : '');
      const bw = req['buffer_window'] as { seconds?: string | number; nanos?: number } | undefined;
      const windowMs = bw ? Number(bw.seconds ?? 0) * 1000 + Math.floor((bw.nanos ?? 0) / 1e6) : 2000;
      let pending: StoredEntry[] = [];
      let suppressed = 0;
      let timer: NodeJS.Timeout | undefined;
      const flush = (): void => {
        timer = undefined;
        if (closed) return;
        const entries = pending.sort((a, b) =>
          a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.insertId < b.insertId ? -1 : 1,
        );
        pending = [];
        const res: Wire = { entries: entries.map((e) => e.wire) };
        if (suppressed > 0) {
          res['suppression_info'] = [{ reason: faults.suppressReason, suppressed_count: suppressed }];
          suppressed = 0;
        }
        call.write(res);
      };
      const unsubscribe = fleet.log.subscribe((e) => {
        if (closed || !projects.includes(e.project) || !matches(filter, e)) return;
        if (faults.suppressRemaining > 0) {
          faults.suppressRemaining -= 1;
          suppressed += 1;
        } else pending.push(e);
        if (windowMs <= 0) setImmediate(flush);
        else timer ??= setTimeout(flush, windowMs);
      });
      const offCut = faults.onCut((code) => finish(code));
      cleanup = () => {
        unsubscribe();
        offCut();
        if (timer) clearTimeout(timer);
        open -= 1;
        for (const p of projects) openPerProject.set(p, (openPerProject.get(p) ?? 1) - 1);
        cleanup = () => undefined;
      };
      // The emulator confirms the session with an empty response once it is registered (the adapter
      // waits for it, with a grace timeout, so it also copes with a server that sends none).
      if (faults.unconfirmedTails > 0) faults.unconfirmedTails -= 1;
      else call.write({ entries: [] });
    });
  };

  addService(
    server,
    'google.logging.v2.LoggingServiceV2',
    protos.logging,
    {
      ListLogEntries: (req: Wire): Wire => {
        const projects = projectsOf(req['resource_names']);
        if (projects.length === 0)
          throw new RpcError(GrpcStatus.INVALID_ARGUMENT, 'resource_names is required');
        const order = typeof req['order_by'] === 'string' ? req['order_by'] : '';
        const filter = compileFilter(typeof req['filter'] === 'string' ? req['filter'] : '');
        const all = fleet.log.query(projects, filter, /desc/i.test(order));
        const pg = page(
          all,
          {
            ...req,
            page_size: typeof req['page_size'] === 'number' && req['page_size'] > 0 ? req['page_size'] : 50,
          },
          maxPageSize,
        );
        return { entries: pg.items.map((e) => e.wire), next_page_token: pg.next };
      },
    },
    calls,
    faults,
    { TailLogEntries: tail },
  );
  return server;
}

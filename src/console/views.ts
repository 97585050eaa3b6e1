/**
 * The console views the CLI prints: `clusters list` (NAME, PROVIDER, REGION, AGENT VERSION,
 * LAST SEEN, ACTIVITY; wide adds WORKLOADS and NODES) and `records list` (one row per image: IMAGE,
 * DIGEST, WORKLOADS, CLUSTERS, LAST SEEN; superseded images only when asked for) and `nodes list`
 * (CLUSTER, NAME, STATUS, INSTANCE TYPE, RUNNING TASKS, AGE, LAST SEEN; wide adds ZONE, CAPACITY
 * PROVIDER, AGENT VERSION, OS and the node's ARN), as tables fitted to
 * the terminal (src/console/table.ts) or JSON, fetched from a console's ConsoleQuery service. Replies are validated; a malformed reply is an
 * InvalidReplyError, never a crash or a garbled table. Also the agent's own `records rejected`
 * (SEQ, REJECTED, RPC, KEY, REASON) from the state database.
 */
import * as grpc from '@grpc/grpc-js';
import { serviceDefinitions } from './proto.js';
import { channelCredentials, channelOptions, unaryCall } from './channel.js';
import type { ClusterView, ImageRecord, NodeView, WireProvider } from './wire-types.js';
import {
  InvalidReplyError,
  listClustersReplySchema,
  listNodesReplySchema,
  listRecordsReplySchema,
  validateReply,
} from './wire-types.js';
import { formatGvk } from './wire-mapping.js';
import type { RejectedListing } from '../state/rejected-rows.js';
import { fitList, neutralize, renderFittedTable } from './table.js';
import type { Cell, ColumnSpec } from './table.js';

export interface FetchOptions {
  token?: string;
  plaintext: boolean;
  caFile?: string;
  serverName?: string;
  deadlineMs?: number;
  provider?: WireProvider;
  clusterId?: string;
}

const VIEW_DEADLINE_MS = 15_000;
const VIEW_MAX_REPLY_BYTES = 256 * 1024 * 1024;

async function query(
  address: string,
  opts: FetchOptions,
  method: 'ListClusters' | 'ListRecords' | 'ListNodes',
  request: unknown,
): Promise<unknown> {
  const sec = {
    plaintext: opts.plaintext,
    ...(opts.caFile !== undefined ? { caFile: opts.caFile } : {}),
    ...(opts.serverName !== undefined ? { serverName: opts.serverName } : {}),
  };
  const client = new grpc.Client(address, channelCredentials(sec), channelOptions(sec, VIEW_MAX_REPLY_BYTES));
  try {
    const def = serviceDefinitions().query[method];
    if (def === undefined) throw new Error(`agent.proto lacks ConsoleQuery.${method}`);
    return await unaryCall(client, def, request, opts.token, opts.deadlineMs ?? VIEW_DEADLINE_MS);
  } catch (err) {
    const e = err as Partial<grpc.ServiceError>;
    if (e.code === grpc.status.INTERNAL && /pars/i.test(e.details ?? '')) {
      throw new InvalidReplyError(`undecodable ${method} reply from console: ${e.details ?? ''}`);
    }
    throw err;
  } finally {
    client.close();
  }
}

export async function fetchClusters(address: string, opts: FetchOptions): Promise<ClusterView[]> {
  const raw = await query(address, opts, 'ListClusters', {
    provider: opts.provider ?? 'PROVIDER_UNSPECIFIED',
  });
  return validateReply('ListClusters', listClustersReplySchema, raw).clusters;
}

export async function fetchRecords(address: string, opts: FetchOptions): Promise<ImageRecord[]> {
  const raw = await query(address, opts, 'ListRecords', { cluster_id: opts.clusterId ?? '' });
  return validateReply('ListRecords', listRecordsReplySchema, raw).records;
}

export async function fetchNodes(address: string, opts: FetchOptions): Promise<NodeView[]> {
  const raw = await query(address, opts, 'ListNodes', {
    cluster_id: opts.clusterId ?? '',
    provider: opts.provider ?? 'PROVIDER_UNSPECIFIED',
  });
  return validateReply('ListNodes', listNodesReplySchema, raw).nodes;
}

/** Age like kubectl/chainctl: `10s`, `3m`, `2h`, `4d` (never negative). */
export function formatAge(lastSeenMs: number, nowMs: number): string {
  const s = Math.max(0, Math.floor((nowMs - lastSeenMs) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** Replaces control characters so console-supplied text cannot rewrite the terminal. */
function clean(text: string): string {
  return neutralize(text);
}

function renderTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows.map((r) => r.map(clean))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return (
    all
      .map((r) =>
        r
          .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
          .join('   ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** How a list view is laid out: the terminal width to fit, and `-o wide` (everything, unfitted). */
interface TableLayout {
  /** Display columns available (default: unlimited). */
  maxWidth?: number;
  /** `-o wide`: extra columns, full digests and names, no fitting. */
  wide?: boolean;
}

export function renderClustersTable(
  clusters: ClusterView[],
  nowMs: number,
  layout: TableLayout = {},
): string {
  const wide = layout.wide === true;
  const columns: ColumnSpec[] = [
    { header: 'NAME', minColumns: 12, preferColumns: 24, shrinkRank: 2 },
    { header: 'PROVIDER' },
    { header: 'REGION', minColumns: 8, shrinkRank: 1 },
    { header: 'AGENT VERSION', minColumns: 7, shrinkRank: 1 },
    { header: 'LAST SEEN' },
    ...(wide ? [{ header: 'WORKLOADS' }, { header: 'NODES' }] : []),
    { header: 'ACTIVITY', minColumns: 8, preferColumns: 16, shrinkRank: 3 },
  ];
  const rows: Cell[][] = clusters.map((c) => {
    const activity = c.activity.map((a) => `${a.profile}:${formatAge(a.last_seen_ms, nowMs)}`);
    return [
      c.registration.name,
      c.registration.provider,
      c.registration.region,
      // With leader election, which replica the console accepts writes from: "0.1.0 (sightline-acme-1_9f3c…)".
      c.leader ? `${c.registration.agent_version} (${c.leader.holder})` : c.registration.agent_version,
      formatAge(c.last_seen_ms, nowMs),
      ...(wide ? [String(c.workloads), String(c.nodes)] : []),
      activity.length === 0
        ? '-'
        : { text: activity.join(','), fit: (w: number) => fitList(activity, w, activity.length, ',') },
    ];
  });
  return renderFittedTable(columns, rows, wide ? Infinity : (layout.maxWidth ?? Infinity));
}

/** One image (by reference and digest, or reference and unresolved reason) across clusters. */
interface ImageRow {
  ref: string;
  digest: string;
  unresolvedReason: string;
  /** Some workload still runs it. */
  current: boolean;
  /** Every workload that ran it is gone. */
  deleted: boolean;
  lastSeenMs: number;
  /** First sighting anywhere (0 when unknown: the query service does not carry it). */
  firstSeenMs: number;
  /** Clusters where it runs (where it ran, when not current). */
  clusters: string[];
  /** `<region or cluster>/<name>` of the workloads that run it (ran it, when not current). */
  workloads: string[];
}

const kindOrder: Record<string, number> = { ReplicaSet: 1, Pod: 2 };

/** Where a workload runs, short: a Cloud Run cluster's region, an ECS cluster's name. */
function placeOf(clusterName: string): string {
  const slash = clusterName.lastIndexOf('/');
  return slash < 0 ? clusterName : clusterName.slice(slash + 1);
}

/**
 * Groups records (one per image per cluster) into one row per image reference + digest. A row is
 * current while any workload runs the image; its clusters and workloads are then only the current
 * ones. Controllers (Deployment, Job…) are listed before ReplicaSets and Pods.
 */
export function imageRows(
  records: ImageRecord[],
  firstSeenOf?: (record: ImageRecord) => number | undefined,
): ImageRow[] {
  const byKey = new Map<string, { row: ImageRow; all: ImageRecord[] }>();
  for (const r of records) {
    const key = `${r.image.ref}\u0000${r.image.digest || `?${r.image.unresolved_reason}`}`;
    let entry = byKey.get(key);
    if (entry === undefined) {
      entry = {
        row: {
          ref: r.image.ref,
          digest: r.image.digest,
          unresolvedReason: r.image.unresolved_reason,
          current: false,
          deleted: true,
          lastSeenMs: 0,
          firstSeenMs: 0,
          clusters: [],
          workloads: [],
        },
        all: [],
      };
      byKey.set(key, entry);
    }
    entry.all.push(r);
    entry.row.lastSeenMs = Math.max(entry.row.lastSeenMs, r.last_seen_ms);
    const first = firstSeenOf?.(r);
    if (first !== undefined)
      entry.row.firstSeenMs = entry.row.firstSeenMs === 0 ? first : Math.min(entry.row.firstSeenMs, first);
    for (const w of r.workloads) {
      if (w.current) entry.row.current = true;
      if (!w.deleted) entry.row.deleted = false;
    }
  }
  const rows: ImageRow[] = [];
  for (const { row, all } of byKey.values()) {
    const ws: { label: string; rank: number }[] = [];
    const clusters = new Set<string>();
    for (const r of all) {
      for (const w of r.workloads) {
        if (row.current && !w.current) continue;
        clusters.add(r.cluster_name);
        ws.push({ label: `${placeOf(r.cluster_name)}/${w.name}`, rank: kindOrder[w.kind.kind] ?? 0 });
      }
      if (r.workloads.length === 0) clusters.add(r.cluster_name);
    }
    ws.sort((a, b) => a.rank - b.rank || a.label.localeCompare(b.label));
    row.workloads = ws.map((w) => w.label);
    row.clusters = [...clusters].sort();
    if (row.workloads.length === 0) row.deleted = false;
    rows.push(row);
  }
  return rows.sort(
    (a, b) =>
      a.ref.localeCompare(b.ref) || Number(b.current) - Number(a.current) || a.digest.localeCompare(b.digest),
  );
}

/** `sha256:` and the first 12 hex digits, like `docker images`; the unresolved reason in parentheses. */
export function shortDigest(row: Pick<ImageRow, 'digest' | 'unresolvedReason'>, full = false): string {
  if (row.digest === '') return `(${row.unresolvedReason || 'unresolved'})`;
  if (full) return row.digest;
  const colon = row.digest.indexOf(':');
  return row.digest.slice(0, colon + 13);
}

export function imageState(row: ImageRow): 'current' | 'superseded' | 'deleted' {
  return row.current ? 'current' : row.deleted ? 'deleted' : 'superseded';
}

interface RecordsTableOptions extends TableLayout {
  /** Also show superseded and deleted images (marked in a STATE column). */
  all?: boolean;
}

/**
 * `records list`: IMAGE, DIGEST (short; full with wide), WORKLOADS (names up to the width, else
 * "a, +N" or the count), CLUSTERS, LAST SEEN; with `all` a STATE column marks superseded rows.
 */
export function renderRecordsTable(
  records: ImageRecord[],
  nowMs: number,
  options: RecordsTableOptions = {},
): string {
  const wide = options.wide === true;
  const all = options.all === true;
  const shown = imageRows(records).filter((r) => all || r.current);
  const columns: ColumnSpec[] = [
    { header: 'IMAGE', minColumns: 16, preferColumns: 40, shrinkRank: 3, cut: 'start' },
    { header: 'DIGEST', minColumns: 19, shrinkRank: 2 },
    { header: 'WORKLOADS', minColumns: 9, preferColumns: 24, shrinkRank: 1 },
    { header: 'CLUSTERS', minColumns: 6, preferColumns: 14 },
    { header: 'LAST SEEN' },
    ...(all ? [{ header: 'STATE' }] : []),
  ];
  const rows: Cell[][] = shown.map((r) => [
    r.ref,
    shortDigest(r, wide),
    r.workloads.length === 0
      ? '-'
      : { text: r.workloads.join(', '), fit: (w: number) => fitList(r.workloads, w) },
    { text: r.clusters.join(', '), fit: (w: number) => fitList(r.clusters, w) },
    formatAge(r.lastSeenMs, nowMs),
    ...(all ? [imageState(r)] : []),
  ]);
  return renderFittedTable(columns, rows, wide ? Infinity : (options.maxWidth ?? Infinity));
}

/** The nodes of one cluster, given by display name or id (as `clusters list -o json` shows both). */
export function nodesOfCluster(nodes: NodeView[], cluster: string): NodeView[] {
  return nodes.filter((n) => n.cluster_name === cluster || n.cluster_id === cluster);
}

/**
 * `nodes list`, like `kubectl get nodes`: CLUSTER, NAME (the EC2 instance id), STATUS (ACTIVE,
 * DRAINING...), INSTANCE TYPE, RUNNING TASKS, AGE (since first seen), LAST SEEN; wide adds ZONE,
 * CAPACITY PROVIDER, AGENT VERSION, OS and ID (the container instance ARN). Unknown values are `-`.
 */
export function renderNodesTable(nodes: NodeView[], nowMs: number, layout: TableLayout = {}): string {
  const wide = layout.wide === true;
  const columns: ColumnSpec[] = [
    { header: 'CLUSTER', minColumns: 10, preferColumns: 24, shrinkRank: 2 },
    { header: 'NAME', minColumns: 12, preferColumns: 19, shrinkRank: 1 },
    { header: 'STATUS' },
    { header: 'INSTANCE TYPE', minColumns: 8, shrinkRank: 1 },
    { header: 'RUNNING TASKS' },
    { header: 'AGE' },
    { header: 'LAST SEEN' },
    ...(wide
      ? [
          { header: 'ZONE' },
          { header: 'CAPACITY PROVIDER' },
          { header: 'AGENT VERSION' },
          { header: 'OS' },
          { header: 'ID' },
        ]
      : []),
  ];
  const rows: Cell[][] = nodes.map((n) => {
    const m = (key: string): string => n.node.metadata[key] || '-';
    return [
      n.cluster_name,
      n.node.name || '-',
      m('status'),
      m('instanceType'),
      String(n.running_tasks),
      n.node.first_seen_ms > 0 ? formatAge(n.node.first_seen_ms, nowMs) : '-',
      formatAge(n.node.last_seen_ms, nowMs),
      ...(wide
        ? [m('availabilityZone'), m('capacityProvider'), m('agentVersion'), m('osType'), n.node.id]
        : []),
    ];
  });
  return renderFittedTable(columns, rows, wide ? Infinity : (layout.maxWidth ?? Infinity));
}

/** JSON forms (camelCase, ISO times) for `-o json`. */
export function clustersJson(clusters: ClusterView[]): unknown[] {
  return clusters.map((c) => ({
    id: c.registration.id,
    remoteId: c.registration.remote_id,
    name: c.registration.name,
    provider: c.registration.provider,
    region: c.registration.region,
    account: c.registration.account,
    group: c.registration.group,
    issuer: c.registration.issuer,
    version: c.registration.platform_version,
    agentVersion: c.registration.agent_version,
    profiles: c.registration.profiles,
    registered: new Date(c.registered_ms).toISOString(),
    lastSeen: new Date(c.last_seen_ms).toISOString(),
    workloads: c.workloads,
    nodes: c.nodes,
    activity: Object.fromEntries(
      c.activity.map((a) => [
        a.controller_name,
        {
          profile: a.profile,
          namespace: a.namespace,
          controllerName: a.controller_name,
          lastSeen: new Date(a.last_seen_ms).toISOString(),
        },
      ]),
    ),
  }));
}

export function recordsJson(records: ImageRecord[]): unknown[] {
  return records.map((r) => ({
    cluster: r.cluster_id,
    clusterName: r.cluster_name,
    image: {
      ref: r.image.ref,
      registry: r.image.registry,
      repository: r.image.repository,
      tag: r.image.tag,
      digest: r.image.digest,
      ...(r.image.digest === '' ? { unresolved: r.image.unresolved_reason } : {}),
    },
    lastSeen: new Date(r.last_seen_ms).toISOString(),
    current: r.workloads.some((w) => w.current),
    contexts: r.workloads.map((w) => ({
      workload: { kind: formatGvk(w.kind), namespace: w.namespace, name: w.name, uid: w.uid },
      lastSeen: new Date(w.last_seen_ms).toISOString(),
      deleted: w.deleted,
      current: w.current,
    })),
  }));
}

export function nodesJson(nodes: NodeView[]): unknown[] {
  return nodes.map((n) => {
    const m = n.node.metadata;
    const opt = (key: string, name = key): Record<string, string> =>
      m[key] !== undefined && m[key] !== '' ? { [name]: m[key] } : {};
    return {
      cluster: n.cluster_id,
      clusterName: n.cluster_name,
      id: n.node.id,
      name: n.node.name,
      ...opt('status'),
      ...opt('instanceType'),
      ...opt('ec2InstanceId'),
      ...opt('availabilityZone'),
      ...opt('capacityProvider'),
      ...opt('agentVersion'),
      ...opt('osType'),
      runningTasks: n.running_tasks,
      tasks: n.tasks,
      metadata: m,
      firstSeen: new Date(n.node.first_seen_ms).toISOString(),
      lastSeen: new Date(n.node.last_seen_ms).toISOString(),
    };
  });
}

/** `2026-11-27T12:06:51Z` (UTC, to the second). */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `records rejected`: newest first, then a line with how many are kept and were evicted. */
export function renderRejectedTable(listing: RejectedListing): string {
  const rows = listing.rows.map((r) => [String(r.seq), formatTime(r.rejectedMs), r.rpc, r.key, r.error]);
  const shown = `${listing.rows.length} of ${listing.kept} rejected row(s) shown, newest first`;
  const evicted = listing.evicted > 0 ? `; ${listing.evicted} older one(s) evicted past the cap` : '';
  return `${renderTable(['SEQ', 'REJECTED', 'RPC', 'KEY', 'REASON'], rows)}${shown}${evicted}\n`;
}

/** `records rejected --json`: the payload parsed when it is JSON, else as the text it is. */
export function rejectedJson(listing: RejectedListing): unknown {
  return {
    kept: listing.kept,
    evicted: listing.evicted,
    rows: listing.rows.map((r) => {
      let payload: unknown;
      try {
        payload = JSON.parse(r.payload);
      } catch {
        payload = r.payload;
      }
      return {
        seq: r.seq,
        rpc: r.rpc,
        key: r.key,
        reason: r.error,
        created: formatTime(r.createdMs),
        rejected: formatTime(r.rejectedMs),
        payload,
      };
    }),
  };
}

/**
 * The console views the CLI prints: `clusters list` (NAME, PROVIDER, REGION, AGENT VERSION,
 * LAST SEEN, ACTIVITY) and `records list` (IMAGE DIGEST, IMAGE, WORKLOADS, LAST SEEN), as tables or
 * JSON, fetched from a console's ConsoleQuery service. Replies are validated; a malformed reply is an
 * InvalidReplyError, never a crash or a garbled table. Also the agent's own `records rejected`
 * (SEQ, REJECTED, RPC, KEY, REASON) from the state database.
 */
import * as grpc from '@grpc/grpc-js';
import { serviceDefinitions } from './proto.js';
import { channelCredentials, channelOptions, unaryCall } from './channel.js';
import type { ClusterView, ImageRecord, WireProvider } from './wire-types.js';
import {
  InvalidReplyError,
  listClustersReplySchema,
  listRecordsReplySchema,
  validateReply,
} from './wire-types.js';
import { formatGvk } from './wire-mapping.js';
import type { RejectedListing } from '../state/rejected-rows.js';

export interface FetchOptions {
  token?: string;
  plaintext: boolean;
  caFile?: string;
  serverName?: string;
  deadlineMs?: number;
  provider?: WireProvider;
  clusterId?: string;
}

export const VIEW_DEADLINE_MS = 15_000;
export const VIEW_MAX_REPLY_BYTES = 256 * 1024 * 1024;

async function query(
  address: string,
  opts: FetchOptions,
  method: 'ListClusters' | 'ListRecords',
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
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

export function renderTable(header: string[], rows: string[][]): string {
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

export function renderClustersTable(clusters: ClusterView[], nowMs: number): string {
  const rows = clusters.map((c) => [
    c.registration.name,
    c.registration.provider,
    c.registration.region,
    // With leader election, which replica the console accepts writes from: "0.1.0 (sightline-acme-1_9f3c…)".
    c.leader ? `${c.registration.agent_version} (${c.leader.holder})` : c.registration.agent_version,
    formatAge(c.last_seen_ms, nowMs),
    c.activity.map((a) => `${a.profile}:${formatAge(a.last_seen_ms, nowMs)}`).join(',') || '-',
  ]);
  return renderTable(['NAME', 'PROVIDER', 'REGION', 'AGENT VERSION', 'LAST SEEN', 'ACTIVITY'], rows);
}

export function renderRecordsTable(records: ImageRecord[], nowMs: number): string {
  const rows = records.map((r) => [
    r.image.digest !== '' ? r.image.digest : `(unresolved: ${r.image.unresolved_reason || 'unknown'})`,
    r.image.ref,
    r.workloads
      .map((w) => `${w.kind.kind}/${w.namespace}/${w.name}${w.deleted ? ' (deleted)' : ''}`)
      .join(','),
    formatAge(r.last_seen_ms, nowMs),
  ]);
  return renderTable(['IMAGE DIGEST', 'IMAGE', 'WORKLOADS', 'LAST SEEN'], rows);
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
    contexts: r.workloads.map((w) => ({
      workload: { kind: formatGvk(w.kind), namespace: w.namespace, name: w.name, uid: w.uid },
      lastSeen: new Date(w.last_seen_ms).toISOString(),
      deleted: w.deleted,
      current: w.current,
    })),
  }));
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

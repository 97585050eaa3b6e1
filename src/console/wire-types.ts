/**
 * Hand-written TypeScript shapes of the agent.proto messages as @grpc/proto-loader presents them
 * (LOADER_OPTIONS in proto.ts: snake_case, int64 as number, enums as strings, defaults filled in),
 * plus zod validators for every reply the agent or the CLI reads. A reply that fails validation is
 * rejected with `InvalidReplyError` naming the first bad field; it never crashes the caller.
 */
import { z } from 'zod';
import { PROVIDERS } from '../model/provider.js';

/** The proto's enum: the values sightline never produces, then every model provider (src/model/provider.ts). */
const WIRE_PROVIDERS = ['PROVIDER_UNSPECIFIED', 'GKE', 'EKS', ...PROVIDERS] as const;
export type WireProvider = (typeof WIRE_PROVIDERS)[number];

export type WireObjectType = 'OBJECT_TYPE_UNSPECIFIED' | 'WORKLOAD' | 'NAMESPACE' | 'NODE';

export interface ClusterRegistration {
  id: string;
  provider: WireProvider;
  remote_id: string;
  name: string;
  region: string;
  account: string;
  issuer: string;
  platform_version: string;
  agent_version: string;
  group: string;
  profiles: string[];
  labels: Record<string, string>;
  metadata: Record<string, string>;
  observed_ms: number;
}

export interface RegisterClustersRequest {
  batch_id: string;
  clusters: ClusterRegistration[];
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface OwnerReference {
  kind: string;
  name: string;
  uid: string;
}

export interface WireImage {
  ref: string;
  registry: string;
  repository: string;
  tag: string;
  digest: string;
  unresolved_reason: string;
  unresolved_detail: string;
}

export interface WireContainer {
  name: string;
  image: WireImage;
  first_seen_ms: number;
  last_seen_ms: number;
}

export interface WorkloadSighting {
  cluster_id: string;
  uid: string;
  kind: GroupVersionKind;
  native_kind: string;
  namespace: string;
  name: string;
  owners: OwnerReference[];
  labels: Record<string, string>;
  containers: WireContainer[];
  node_id: string;
  status: string;
  first_seen_ms: number;
  last_seen_ms: number;
}

export interface NamespaceSighting {
  cluster_id: string;
  name: string;
  labels: Record<string, string>;
  enforcement: boolean;
  first_seen_ms: number;
  last_seen_ms: number;
}

export interface NodeSighting {
  cluster_id: string;
  id: string;
  name: string;
  metadata: Record<string, string>;
  first_seen_ms: number;
  last_seen_ms: number;
}

export interface Deletion {
  cluster_id: string;
  type: WireObjectType;
  id: string;
  tombstone: boolean;
  deleted_ms: number;
}

/** A Sighting as sent (exactly one field set). Decoded ones also carry `change`. */
export type Sighting =
  | { workload: WorkloadSighting; change?: 'workload' }
  | { namespace: NamespaceSighting; change?: 'namespace' }
  | { node: NodeSighting; change?: 'node' }
  | { deletion: Deletion; change?: 'deletion' };

export interface ReportSightingsRequest {
  batch_id: string;
  sightings: Sighting[];
}

export interface Activity {
  cluster_id: string;
  controller_name: string;
  profile: string;
  namespace: string;
  last_seen_ms: number;
}

export interface HeartbeatRequest {
  batch_id: string;
  activities: Activity[];
}

export interface DeregisterClustersRequest {
  batch_id: string;
  cluster_ids: string[];
  account: string;
}

/** An object named by type and id (ResyncCluster). */
export interface ObjectRef {
  type: WireObjectType;
  id: string;
}

/** One part of a cluster's full state after the agent lost its own (see agent.proto ResyncCluster). */
export interface ResyncClusterRequest {
  batch_id: string;
  cluster_id: string;
  generation: number;
  part: number;
  parts: number;
  live: ObjectRef[];
}

export interface WriteReply {
  batch_id: string;
  accepted: number;
  duplicate: boolean;
}

/** agent.proto LeaderEpoch: leader election's fencing token (see src/leader/epoch.ts). */
export interface WireLeaderEpoch {
  term: number;
  holder: string;
}

/** The epoch field every write request may carry; null or absent when leader election is off. */
export interface FencedWrite {
  leader_epoch?: WireLeaderEpoch | null;
}

export interface ClusterView {
  registration: ClusterRegistration;
  registered_ms: number;
  last_seen_ms: number;
  activity: Activity[];
  workloads: number;
  /** Nodes (ECS container instances) on the cluster; 0 from consoles that predate the field. */
  nodes: number;
  /** The newest leader epoch the console accepted for the cluster; absent or null without election. */
  leader?: WireLeaderEpoch | null;
}

export interface ListClustersRequest {
  provider: WireProvider;
}

export interface ListClustersReply {
  clusters: ClusterView[];
}

export interface WorkloadContext {
  kind: GroupVersionKind;
  namespace: string;
  name: string;
  uid: string;
  last_seen_ms: number;
  deleted: boolean;
  current: boolean;
}

export interface ImageRecord {
  cluster_id: string;
  cluster_name: string;
  image: WireImage;
  last_seen_ms: number;
  workloads: WorkloadContext[];
}

export interface ListRecordsRequest {
  cluster_id: string;
}

export interface ListRecordsReply {
  records: ImageRecord[];
}

export interface NodeView {
  cluster_id: string;
  cluster_name: string;
  node: NodeSighting;
  /** Live tasks on the node whose status is RUNNING. */
  running_tasks: number;
  /** Live tasks on the node in any status. */
  tasks: number;
}

export interface ListNodesRequest {
  cluster_id: string;
  provider: WireProvider;
}

export interface ListNodesReply {
  nodes: NodeView[];
}

// ---------------------------------------------------------------------------------------------
// Reply validation

/** A console reply that is not what the protocol promises (wrong types, mismatched ids, absurd sizes). */
export class InvalidReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidReplyError';
  }
}

const MAX_TEXT_CHARS = 64 * 1024;
const text = z.string().max(MAX_TEXT_CHARS);
const ms = z.number().int().nonnegative().max(8.64e15);
const stringMap = z.record(text, text);

const gvkSchema = z.object({ group: text, version: text, kind: text });
const imageSchema = z.object({
  ref: text,
  registry: text,
  repository: text,
  tag: text,
  digest: text,
  unresolved_reason: text,
  unresolved_detail: text,
});
const registrationSchema = z.object({
  id: text.min(1),
  provider: z.enum(WIRE_PROVIDERS),
  remote_id: text,
  name: text,
  region: text,
  account: text,
  issuer: text,
  platform_version: text,
  agent_version: text,
  group: text,
  profiles: z.array(text),
  labels: stringMap,
  metadata: stringMap,
  observed_ms: ms,
});
const activitySchema = z.object({
  cluster_id: text,
  controller_name: text,
  profile: text,
  namespace: text,
  last_seen_ms: ms,
});

export const writeReplySchema = z.object({
  batch_id: text,
  accepted: z.number().int().nonnegative(),
  duplicate: z.boolean(),
});

export const listClustersReplySchema = z.object({
  clusters: z.array(
    z.object({
      registration: registrationSchema,
      registered_ms: ms,
      last_seen_ms: ms,
      activity: z.array(activitySchema),
      workloads: z.number().int().nonnegative(),
      nodes: z.number().int().nonnegative().default(0),
      leader: z
        .object({ term: z.number().int().nonnegative(), holder: z.string().max(512) })
        .nullable()
        .optional(),
    }),
  ),
});

export const listRecordsReplySchema = z.object({
  records: z.array(
    z.object({
      cluster_id: text,
      cluster_name: text,
      image: imageSchema,
      last_seen_ms: ms,
      workloads: z.array(
        z.object({
          kind: gvkSchema,
          namespace: text,
          name: text,
          uid: text,
          last_seen_ms: ms,
          deleted: z.boolean(),
          current: z.boolean(),
        }),
      ),
    }),
  ),
});

export const listNodesReplySchema = z.object({
  nodes: z.array(
    z.object({
      cluster_id: text,
      cluster_name: text,
      node: z.object({
        cluster_id: text,
        id: text,
        name: text,
        metadata: stringMap,
        first_seen_ms: ms,
        last_seen_ms: ms,
      }),
      running_tasks: z.number().int().nonnegative(),
      tasks: z.number().int().nonnegative(),
    }),
  ),
});

/** Parses `value` with `schema`, or throws InvalidReplyError naming the RPC and the first bad field. */
export function validateReply<T>(rpc: string, schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where =
    issue === undefined ? '' : ` at ${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`;
  throw new InvalidReplyError(`malformed ${rpc} reply from console${where}`);
}

/**
 * Model keys (`objectKey`) for ECS resources and their inverse. Keys are
 * `cluster/<clusterId>`, `namespace/<clusterId>/<clusterName>`, `workload/<clusterId>/<uid>` and
 * `node/<clusterId>/<containerInstanceArn>`; uids are ARNs (a ReplicaSet's is `<serviceArn>#<deploymentId>`
 * or a task-set ARN). `parseKey` returns undefined for anything else (never throws).
 */
import { clusterId } from '../../src/model/index.js';

export type ParsedKey =
  | { kind: 'cluster'; clusterId: string }
  | { kind: 'namespace'; clusterId: string; name: string }
  | { kind: 'workload'; clusterId: string; uid: string }
  | { kind: 'node'; clusterId: string; id: string };

export function parseKey(key: string): ParsedKey | undefined {
  const a = key.indexOf('/');
  if (a < 0) return undefined;
  const kind = key.slice(0, a);
  const rest = key.slice(a + 1);
  if (kind === 'cluster') return rest ? { kind, clusterId: rest } : undefined;
  const b = rest.indexOf('/');
  if (b <= 0) return undefined;
  const cid = rest.slice(0, b);
  const tail = rest.slice(b + 1);
  if (!tail) return undefined;
  if (kind === 'namespace') return { kind, clusterId: cid, name: tail };
  if (kind === 'workload') return { kind, clusterId: cid, uid: tail };
  if (kind === 'node') return { kind, clusterId: cid, id: tail };
  return undefined;
}

export const clusterKey = (clusterArn: string): string => `cluster/${clusterId('ECS', clusterArn)}`;
export const namespaceKey = (clusterArn: string, name: string): string =>
  `namespace/${clusterId('ECS', clusterArn)}/${name}`;
export const workloadKey = (clusterArn: string, uid: string): string =>
  `workload/${clusterId('ECS', clusterArn)}/${uid}`;
export const nodeKey = (clusterArn: string, arn: string): string =>
  `node/${clusterId('ECS', clusterArn)}/${arn}`;

/** The service ARN a workload uid belongs to (service, deployment `#id`, or task-set ARN), if any. */
export function serviceArnOfUid(uid: string): string | undefined {
  const hash = uid.indexOf('#');
  if (hash > 0) return uid.slice(0, hash);
  if (uid.includes(':service/')) return uid;
  const ts = uid.indexOf(':task-set/');
  if (ts > 0) {
    // arn:...:task-set/<cluster>/<service>/<id>
    const parts = uid.slice(ts + ':task-set/'.length).split('/');
    const [cluster, service] = parts;
    if (cluster && service) return `${uid.slice(0, ts)}:service/${cluster}/${service}`;
  }
  return undefined;
}

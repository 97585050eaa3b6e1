/** One line per workload change for the demo's log: time, change, provider, workload, images with digests. */
import type { ClusterObject, ContainerImage } from '../model/index.js';
import type { WatchEvent } from '../watch/events.js';

function imageText(img: ContainerImage): string {
  const digest = img.digest
    ? `@${img.digest.slice(0, 19)}…`
    : ` (digest ${img.unresolved?.reason ?? 'unknown'})`;
  return `${img.reference}${digest}`;
}

export function sightingLine(
  event: WatchEvent<ClusterObject>,
  clusterNames: Map<string, string>,
  nowMs: number,
): string | undefined {
  if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED') return undefined;
  const o = event.object;
  if (o.kind !== 'workload') return undefined;
  const w = o.workload;
  const time = new Date(nowMs).toISOString().slice(11, 19);
  const cluster = clusterNames.get(w.clusterId) ?? w.clusterId.slice(0, 8);
  const images = w.containers.map((c) => imageText(c.image)).join(', ');
  const type = event.type === 'DELETED' && event.tombstone ? 'DELETED*' : event.type;
  return `${time} ${type.padEnd(8)} ${cluster.padEnd(28)} ${w.kind.padEnd(10)} ${w.name.padEnd(34)} ${images}`;
}

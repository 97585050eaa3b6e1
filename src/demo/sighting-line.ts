/**
 * One line per workload change for the demo's log: time, change, cluster, kind, workload, images
 * (the last path segment of each reference with a 12-digit digest), fitted to `maxWidth` display
 * columns: long cluster and workload names are cut with `…`, images are listed as far as they fit
 * and then counted (`+1`). The full references are in `records list` and the web view.
 */
import { displayWidth, fitList, neutralize, truncateToWidth } from '../console/table.js';
import type { ClusterObject, ContainerImage } from '../model/index.js';
import type { WatchEvent } from '../watch/events.js';

const clusterColumns = 27;
const kindColumns = 10;
const nameColumns = 26;

function imageText(img: ContainerImage): string {
  const slash = img.reference.lastIndexOf('/');
  const name = slash < 0 ? img.reference : img.reference.slice(slash + 1);
  if (img.digest) {
    const colon = img.digest.indexOf(':');
    return `${name}@${img.digest.slice(0, colon + 13)}`;
  }
  return `${name} (${img.unresolved?.reason ?? 'no digest'})`;
}

function column(text: string, width: number): string {
  const cut = truncateToWidth(neutralize(text), width);
  return cut + ' '.repeat(Math.max(0, width - displayWidth(cut)));
}

export function sightingLine(
  event: WatchEvent<ClusterObject>,
  clusterNames: Map<string, string>,
  nowMs: number,
  maxWidth = Infinity,
): string | undefined {
  if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED') return undefined;
  const o = event.object;
  if (o.kind !== 'workload') return undefined;
  const w = o.workload;
  const time = new Date(nowMs).toISOString().slice(11, 19);
  const cluster = clusterNames.get(w.clusterId) ?? w.clusterId.slice(0, 8);
  const type = event.type === 'DELETED' && event.tombstone ? 'DELETED*' : event.type;
  const head = `${time} ${type.padEnd(8)} ${column(cluster, clusterColumns)} ${column(w.kind, kindColumns)} ${column(w.name, nameColumns)} `;
  const images = w.containers.map((c) => neutralize(imageText(c.image)));
  const room = maxWidth - displayWidth(head);
  const line = `${head}${room === Infinity ? images.join(', ') : fitList(images, room)}`;
  return truncateToWidth(line.trimEnd(), maxWidth);
}

/**
 * Renders an inventory (ClusterObjects) as the table `sightline once --output table` prints:
 * one row per container image of each workload, grouped by cluster, plus a line per cluster.
 */
import type { ClusterObject, Cluster, Workload } from '../model/index.js';

function pad(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '))
    .join('\n');
}

export function shortDigest(digest: string | undefined): string {
  return digest ? `${digest.slice(0, 19)}…` : '-';
}

export function renderInventoryTable(objects: ClusterObject[]): string {
  const clusters = new Map<string, Cluster>();
  const workloads: Workload[] = [];
  let nodes = 0;
  for (const o of objects) {
    if (o.kind === 'cluster') clusters.set(o.cluster.id, o.cluster);
    else if (o.kind === 'workload') workloads.push(o.workload);
    else if (o.kind === 'node') nodes += 1;
  }
  const clusterRows: string[][] = [['CLUSTER', 'PROVIDER', 'REGION', 'ACCOUNT', 'WORKLOADS']];
  for (const c of [...clusters.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    clusterRows.push([
      c.name,
      c.provider,
      c.region,
      c.account,
      String(workloads.filter((w) => w.clusterId === c.id).length),
    ]);
  }
  const rows: string[][] = [['CLUSTER', 'KIND', 'NAMESPACE', 'NAME', 'CONTAINER', 'IMAGE', 'DIGEST']];
  const sorted = [...workloads].sort(
    (a, b) =>
      (clusters.get(a.clusterId)?.name ?? '').localeCompare(clusters.get(b.clusterId)?.name ?? '') ||
      a.kind.localeCompare(b.kind) ||
      a.name.localeCompare(b.name),
  );
  for (const w of sorted) {
    for (const c of w.containers) {
      rows.push([
        clusters.get(w.clusterId)?.name ?? w.clusterId.slice(0, 8),
        w.kind,
        w.namespace,
        w.name,
        c.name,
        c.image.reference,
        c.image.digest
          ? shortDigest(c.image.digest)
          : `unresolved (${c.image.unresolved?.reason ?? 'unknown'})`,
      ]);
    }
  }
  return `${pad(clusterRows)}\n\n${pad(rows)}\n\n${clusters.size} cluster(s), ${workloads.length} workload(s), ${nodes} node(s)\n`;
}

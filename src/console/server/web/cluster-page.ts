/**
 * A cluster's page: its registration (provider, region, account, versions, LAST SEEN), its
 * namespaces with their labels, and its live workloads grouped by kind (Deployment, ReplicaSet,
 * Pod, Job…) with their images and digests; a live workload's LAST SEEN is the cluster's latest poll
 * when that is later than its own report. Undefined when the cluster is not registered.
 */
import { formatAge } from '../../views.js';
import type { WireImage } from '../../wire-types.js';
import type { ConsoleStore } from '../store.js';
import { providerLabel } from './clusters-page.js';
import { html } from './html.js';
import type { SafeHtml } from './html.js';
import { seenAge } from './layout.js';

function labels(map: Record<string, string>): SafeHtml | SafeHtml[] {
  const entries = Object.entries(map).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return html`<span class="muted">none</span>`;
  return entries.map(([k, v]) => html`<span class="label">${k}=${v}</span>`);
}

function imageHtml(img: WireImage): SafeHtml {
  const digest =
    img.digest !== ''
      ? html`<code class="digest" title="${img.digest}"
          >${img.digest.slice(0, img.digest.indexOf(':') + 13)}</code
        >`
      : html`<span class="muted">digest ${img.unresolved_reason || 'unresolved'}</span>`;
  return html`<div><code>${img.ref}</code> ${digest}</div>`;
}

export function clusterContent(store: ConsoleStore, clusterId: string, nowMs: number): SafeHtml | undefined {
  const view = store.listClusters('PROVIDER_UNSPECIFIED').find((c) => c.registration.id === clusterId);
  if (view === undefined) return undefined;
  const r = view.registration;
  const namespaces = store.namespacesOf(clusterId);
  // A live workload is seen at every cluster poll (as in the records view).
  const seen = view.last_seen_ms;
  const byKind = new Map<string, ReturnType<ConsoleStore['workloadsOf']>>();
  for (const w of store.workloadsOf(clusterId)) {
    if (w.deleted_ms !== null) continue;
    const kind = w.workload.kind.kind;
    byKind.set(kind, [...(byKind.get(kind) ?? []), w]);
  }
  const kindOrder = ['Deployment', 'Job', 'CronJob', 'ReplicaSet', 'Pod'];
  const kinds = [...byKind.keys()].sort(
    (a, b) => (kindOrder.indexOf(a) + 1 || 99) - (kindOrder.indexOf(b) + 1 || 99) || a.localeCompare(b),
  );
  const nsRows = namespaces.map(
    (n) =>
      html`<tr>
        <td>${n.name}</td>
        <td>${labels(n.labels)}</td>
        <td>${seenAge(n.last_seen_ms, formatAge(n.last_seen_ms, nowMs))}</td>
      </tr>`,
  );
  const sections = kinds.map((kind) => {
    const list = byKind.get(kind) ?? [];
    const rows = list.map(
      ({ workload: w }) =>
        html`<tr>
          <td>${w.namespace}</td>
          <td>${w.name}</td>
          <td>${w.containers.map((c) => imageHtml(c.image))}</td>
          <td>${w.status}</td>
          <td>
            ${seenAge(Math.max(w.last_seen_ms, seen), formatAge(Math.max(w.last_seen_ms, seen), nowMs))}
          </td>
        </tr>`,
    );
    return html`<h2>${kind} <span class="muted">(${list.length})</span></h2>
      <table class="workloads" data-kind="${kind}">
        <thead>
          <tr>
            <th>Namespace</th>
            <th>Name</th>
            <th>Images</th>
            <th>Status</th>
            <th>Last seen</th>
          </tr>
        </thead>
        <tbody>
          ${rows}
        </tbody>
      </table>`;
  });
  return html`<p class="sub"><a href="/clusters">Clusters</a> /</p>
    <h1>${r.name}</h1>
    <p class="sub">
      <span class="badge ${r.provider}">${providerLabel(r.provider)}</span> region ${r.region} · account
      ${r.account}${r.platform_version !== '' ? ` · platform ${r.platform_version}` : ''} · agent
      ${r.agent_version} · ${view.nodes} node(s) · last seen
      ${seenAge(view.last_seen_ms, formatAge(view.last_seen_ms, nowMs))}
    </p>
    <h2>Namespaces <span class="muted">(${namespaces.length})</span></h2>
    <table id="namespaces">
      <thead>
        <tr>
          <th>Name</th>
          <th>Labels</th>
          <th>Last seen</th>
        </tr>
      </thead>
      <tbody>
        ${nsRows}
      </tbody>
    </table>
    ${
      sections.length === 0
        ? html`<h2>Workloads</h2>
            <p class="muted">No live workload.</p>`
        : sections
    }`;
}

/**
 * The Clusters page: one row per registered cluster with NAME (a link to the cluster's page),
 * PROVIDER, REGION, AGENT VERSION, LAST SEEN (ticking), ACTIVITY (per controller, ticking),
 * WORKLOADS and NODES, as the console's store has them now.
 */
import { formatAge } from '../../views.js';
import type { ConsoleStore } from '../store.js';
import { html } from './html.js';
import type { SafeHtml } from './html.js';
import { seenAge } from './layout.js';

export function providerLabel(provider: string): string {
  return provider === 'CLOUD_RUN' ? 'Cloud Run' : provider;
}

function clusterHref(id: string): string {
  return `/clusters/${encodeURIComponent(id)}`;
}

export function clustersContent(store: ConsoleStore, nowMs: number): SafeHtml {
  const clusters = store.listClusters('PROVIDER_UNSPECIFIED');
  if (clusters.length === 0) {
    return html`<h1>Clusters</h1>
      <p class="sub">No cluster has registered yet.</p>`;
  }
  const rows = clusters.map((c) => {
    const r = c.registration;
    const activity =
      c.activity.length === 0
        ? html`<span class="muted">-</span>`
        : c.activity.map(
            (a) =>
              html`<span class="label" title="${a.controller_name}"
                >${a.profile} ${seenAge(a.last_seen_ms, formatAge(a.last_seen_ms, nowMs))}</span
              >`,
          );
    return html`<tr data-cluster="${r.name}">
      <td><a href="${clusterHref(r.id)}">${r.name}</a></td>
      <td><span class="badge ${r.provider}">${providerLabel(r.provider)}</span></td>
      <td>${r.region}</td>
      <td>${r.agent_version}</td>
      <td class="last-seen">${seenAge(c.last_seen_ms, formatAge(c.last_seen_ms, nowMs))}</td>
      <td>${activity}</td>
      <td>${c.workloads}</td>
      <td>${c.nodes}</td>
    </tr>`;
  });
  return html`<h1>Clusters</h1>
    <p class="sub">
      ${clusters.length} cluster(s). LAST SEEN is the latest time the agent reported anything about the
      cluster; it moves at every cluster poll.
    </p>
    <table id="clusters">
      <thead>
        <tr>
          <th>Name</th>
          <th>Provider</th>
          <th>Region</th>
          <th>Agent version</th>
          <th>Last seen</th>
          <th>Activity</th>
          <th>Workloads</th>
          <th>Nodes</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>`;
}

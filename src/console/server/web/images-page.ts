/**
 * The Images page: one row per image (reference + digest, or reference + unresolved reason) across
 * clusters, with where it runs (clusters and workloads), first and last seen, and whether it is
 * current (some workload runs it) or superseded (replaced by another digest) or deleted (its
 * workloads are gone). `query` filters, case-insensitively, on the image reference and the digest.
 * Current images come first.
 */
import { formatAge, formatTime, imageRows, imageState } from '../../views.js';
import type { ConsoleStore } from '../store.js';
import { imageKey } from '../store.js';
import { html } from './html.js';
import type { SafeHtml } from './html.js';
import { seenAge } from './layout.js';

/** Longest search accepted; longer input is cut (it could match nothing anyway). */
export const maxQueryChars = 256;

export function searchBox(query: string): SafeHtml {
  return html`<form class="search" method="get" action="/images" role="search">
    <input
      type="search"
      name="q"
      value="${query}"
      placeholder="Search image names and digests"
      aria-label="Search image names and digests"
      maxlength="${maxQueryChars}"
      autocomplete="off"
    />
  </form>`;
}

export function imagesContent(store: ConsoleStore, query: string, nowMs: number): SafeHtml {
  const firstSeen = store.imageFirstSeen();
  const all = imageRows(store.listRecords(''), (r) =>
    firstSeen.get(`${r.cluster_id}\u0000${imageKey(r.image)}`),
  );
  const q = query.trim().toLowerCase();
  const rows = all
    .filter((r) => q === '' || r.ref.toLowerCase().includes(q) || r.digest.toLowerCase().includes(q))
    .sort((a, b) => Number(b.current) - Number(a.current));
  const current = rows.filter((r) => r.current).length;
  const body = rows.map((r) => {
    const state = imageState(r);
    const digest =
      r.digest !== ''
        ? html`<code class="digest" title="${r.digest}"
            >${r.digest.slice(0, r.digest.indexOf(':') + 13)}</code
          >`
        : html`<span class="muted">${r.unresolvedReason || 'unresolved'}</span>`;
    return html`<tr class="${state}">
      <td><code class="ref">${r.ref}</code></td>
      <td>${digest}</td>
      <td>
        ${r.clusters.map((c) => html`<div class="cluster">${c}</div>`)}
        <div class="muted">
          ${r.workloads.slice(0, 6).join(', ')}${r.workloads.length > 6 ? `, +${r.workloads.length - 6}` : ''}
        </div>
      </td>
      <td>
        ${
          r.firstSeenMs > 0
            ? html`<span class="nowrap" title="${formatTime(r.firstSeenMs)}"
                >${formatTime(r.firstSeenMs).replace('T', ' ')}</span
              >`
            : '-'
        }
      </td>
      <td>${seenAge(r.lastSeenMs, formatAge(r.lastSeenMs, nowMs))}</td>
      <td><span class="badge ${state}">${state}</span></td>
    </tr>`;
  });
  return html`<h1>Images</h1>
    <p class="sub">
      ${rows.length} image(s)${q !== '' ? html` matching <code>${query.trim()}</code>` : ''}, ${current}
      current. Superseded: no workload runs this digest any more (it was replaced).
    </p>
    <table id="images">
      <thead>
        <tr>
          <th>Image</th>
          <th>Digest</th>
          <th>Where it runs</th>
          <th>First seen</th>
          <th>Last seen</th>
          <th>State</th>
        </tr>
      </thead>
      <tbody>
        ${body}
      </tbody>
    </table>`;
}

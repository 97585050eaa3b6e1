/**
 * Page tokens of the sources that list per cluster: `{c: cluster index, t: API token, p: phase}`
 * through the kit's codec. The cluster list is the snapshot taken on the first page (kept by the
 * source). An unreadable token is a PageTokenError; the source restarts from the first cluster
 * (`decodeOrRestart`, reported once per source).
 */
import { PageTokenCodec } from '../../src/provider/page-token.js';

export interface ClusterPageToken {
  /** Index into the cluster snapshot. */
  c: number;
  /** The provider's NextToken within that cluster. */
  t?: string;
  /** Phase within the cluster (tasks: RUNNING then STOPPED). */
  p?: string;
}

export const FIRST_CLUSTER_PAGE: ClusterPageToken = { c: 0 };

export const clusterPageTokens = new PageTokenCodec<ClusterPageToken>('ecs-cluster-page', (v) => {
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as { c?: unknown; t?: unknown; p?: unknown };
  if (typeof o.c !== 'number' || !Number.isInteger(o.c) || o.c < 0) return undefined;
  return {
    c: o.c,
    ...(typeof o.t === 'string' ? { t: o.t } : {}),
    ...(typeof o.p === 'string' ? { p: o.p } : {}),
  };
});

/**
 * Page tokens for sources that list per cluster: `{c: cluster index, t: API token, p: phase}` in
 * base64url. The cluster list is the snapshot taken on the first page (kept by the source). An
 * unreadable token restarts from the first cluster (never throws).
 */

export interface ClusterPageToken {
  /** Index into the cluster snapshot. */
  c: number;
  /** The provider's NextToken within that cluster. */
  t?: string;
  /** Phase within the cluster (tasks: RUNNING then STOPPED). */
  p?: string;
}

export function encodePageToken(t: ClusterPageToken): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

export function decodePageToken(s: string | undefined): ClusterPageToken {
  if (s === undefined) return { c: 0 };
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as {
      c?: unknown;
      t?: unknown;
      p?: unknown;
    };
    if (typeof v.c !== 'number' || !Number.isInteger(v.c) || v.c < 0) return { c: 0 };
    return {
      c: v.c,
      ...(typeof v.t === 'string' ? { t: v.t } : {}),
      ...(typeof v.p === 'string' ? { p: v.p } : {}),
    };
  } catch {
    return { c: 0 };
  }
}

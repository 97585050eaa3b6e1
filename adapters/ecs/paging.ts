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

/** Pages one loop may read before it gives up: 10,000 pages of 100 is a million resources in one cluster. */
export const MAX_PAGES_PER_LISTING = 10_000;

/**
 * The token to ask for next, or undefined on the last page. A provider (or anything answering in
 * its place) that returns the very token it was sent, or a non-string token, would make paging
 * loop forever: that is an error naming the operation, not an endless loop.
 */
export function nextPageToken(
  operation: string,
  sent: string | undefined,
  received: unknown,
): string | undefined {
  if (received === undefined || received === null || received === '') return undefined;
  if (typeof received !== 'string') throw new Error(`${operation} returned a nextToken that is not a string`);
  if (received === sent)
    throw new Error(`${operation} returned the same nextToken it was sent: refusing to page forever`);
  return received;
}

/** Throws once a paging loop read more than MAX_PAGES_PER_LISTING pages. */
export function checkPageCount(operation: string, pages: number): void {
  if (pages > MAX_PAGES_PER_LISTING)
    throw new Error(`${operation} kept returning more pages (over ${MAX_PAGES_PER_LISTING}): giving up`);
}

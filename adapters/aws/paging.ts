/**
 * AWS `NextToken` paging guards shared by every AWS list loop: `nextPageToken` is the token to
 * send next (undefined on the last page), and a loop reads at most MAX_PAGES_PER_LISTING pages.
 *
 * Failure: a provider (or anything answering in its place) that returns the very token it was
 * sent, a token that is not a string, or pages without end, is an error naming the operation,
 * never an endless loop.
 */

/** Pages one loop may read before it gives up: 10,000 pages of 100 is a million resources. */
export const MAX_PAGES_PER_LISTING = 10_000;

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

/**
 * The Cloud Run project source's list page token: the region index, the step index (see
 * `LIST_STEPS`) and the Run API's own page token within that step. Opaque to the engine
 * (base64url JSON); it lives only as long as one list.
 *
 * Failure: `decodeListToken` throws on a token it cannot read; the engine answers a failed list page
 * by listing again from the first page.
 */

export const LIST_STEPS = ['cluster', 'services', 'revisions', 'jobs', 'executions', 'workerPools'] as const;
export type ListStep = (typeof LIST_STEPS)[number];

export interface ListPosition {
  /** Index into the project's regions. */
  r: number;
  /** Index into LIST_STEPS. */
  s: number;
  /** The Run API page token of the step ('' for its first page). */
  t: string;
}

export function encodeListToken(p: ListPosition): string {
  return Buffer.from(JSON.stringify(p)).toString('base64url');
}

export function decodeListToken(token: string): ListPosition {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<ListPosition>;
    if (typeof v.r === 'number' && typeof v.s === 'number' && typeof v.t === 'string') {
      return { r: v.r, s: v.s, t: v.t };
    }
  } catch {
    // not JSON: an unreadable token, reported below
  }
  throw new Error('invalid Cloud Run page token');
}

/** The position after a page of `p` that ended with the API's `next` token, or undefined at the end. */
export function nextPosition(p: ListPosition, next: string, regionCount: number): ListPosition | undefined {
  if (next !== '') return { ...p, t: next };
  if (p.s + 1 < LIST_STEPS.length) return { r: p.r, s: p.s + 1, t: '' };
  if (p.r + 1 < regionCount) return { r: p.r + 1, s: 0, t: '' };
  return undefined;
}

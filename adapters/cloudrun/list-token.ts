/**
 * The Cloud Run project source's list position: the region index, the step index (see
 * `LIST_STEPS`) and the Run API's own page token within that step, carried as a page token of the
 * provider kit's codec (`listTokens`); it lives only as long as one list.
 *
 * Failure: the kit's rule: an unreadable token is a PageTokenError, which the source turns into a
 * restart of the list from `LIST_START` (reported once per source).
 */
import { PageTokenCodec } from '../../src/provider/page-token.js';

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

function readPosition(v: unknown): ListPosition | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const p = v as Partial<ListPosition>;
  if (typeof p.r !== 'number' || typeof p.s !== 'number' || typeof p.t !== 'string') return undefined;
  return { r: p.r, s: p.s, t: p.t };
}

export const listTokens = new PageTokenCodec<ListPosition>('cloudrun-list-page', readPosition);

/** Where a list starts: the first step of the first region. */
export const LIST_START: ListPosition = { r: 0, s: 0, t: '' };

/** The position after a page of `p` that ended with the API's `next` token, or undefined at the end. */
export function nextPosition(p: ListPosition, next: string, regionCount: number): ListPosition | undefined {
  if (next !== '') return { ...p, t: next };
  if (p.s + 1 < LIST_STEPS.length) return { r: p.r, s: p.s + 1, t: '' };
  if (p.r + 1 < regionCount) return { r: p.r + 1, s: 0, t: '' };
  return undefined;
}

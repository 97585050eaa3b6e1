/**
 * A Cloud Run kind source's list position: the region index, the index of the step among the
 * source's steps (each a `ListStep`) and the Run API's own page token within that step, carried as
 * a page token of the provider kit's codec (`listTokens`); it lives only as long as one list.
 *
 * Failure: the kit's rule: an unreadable token is a PageTokenError, which the source turns into a
 * restart of the list from `LIST_START` (reported once per source).
 */
import { PageTokenCodec } from '../../src/provider/page-token.js';

/** What one list step reads in a region (`cluster`: the cluster and namespace objects, no API call). */
export type ListStep = 'cluster' | 'services' | 'revisions' | 'jobs' | 'executions' | 'workerPools';

export interface ListPosition {
  /** Index into the project's regions. */
  r: number;
  /** Index into the source's steps. */
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
export function nextPosition(
  p: ListPosition,
  next: string,
  stepCount: number,
  regionCount: number,
): ListPosition | undefined {
  if (next !== '') return { ...p, t: next };
  if (p.s + 1 < stepCount) return { r: p.r, s: p.s + 1, t: '' };
  if (p.r + 1 < regionCount) return { r: p.r + 1, s: 0, t: '' };
  return undefined;
}

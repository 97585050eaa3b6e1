/**
 * OCI image references: parsing and normalization, following the distribution/reference grammar
 * and Docker's defaults (`nginx` is `docker.io/library/nginx:latest`).
 *
 * `parseImageReference` never throws: a reference it cannot read comes back as `{ ok: false,
 * error }` with a specific message, so a caller can count and report it instead of crashing.
 * Results are frozen and remembered per reference string in a bounded table (a fleet repeats a few
 * hundred references across 100,000 tasks, and every list parses each task's again).
 *
 * `toContainerImage` likewise hands out one frozen ContainerImage per reference and resolved digest
 * (and per reference without a digest, for the default reason): the tasks of a service share it, so
 * the store's sharing (share.ts) and hashing (hash.ts) recognize it by identity instead of reading
 * it member by member for every task. Images are never modified after they are built.
 */
import { GenerationalTable } from './generational-table.js';

export type Digest = `sha256:${string}`;

interface ParsedImageReference {
  /** Registry host, with port when given (`docker.io`, `localhost:5000`, `123.dkr.ecr.us-east-1.amazonaws.com`). */
  registry: string;
  /** Repository path within the registry (`library/nginx`, `team/app`). */
  repository: string;
  tag?: string;
  digest?: Digest;
  /** The fully qualified form: registry/repository[:tag][@digest]. */
  normalized: string;
}

type ParseResult =
  | { readonly ok: true; readonly value: Readonly<ParsedImageReference> }
  | { readonly ok: false; readonly error: string };

/** Distinct references remembered per generation (see GenerationalTable: at most twice this). */
const parsedGenerationMaxEntries = 4_096;
/** A reference's parse result and the images built from it (see `toContainerImage`). */
interface ParsedEntry {
  readonly result: ParseResult;
  /** Resolved digest (or '' for none, with the default reason) -> the one frozen image for it. */
  images: Map<string, ContainerImage> | undefined;
}
const parsed = new GenerationalTable<ParsedEntry>(parsedGenerationMaxEntries);
/**
 * Images remembered per reference; past this the reference's images start over (a `:latest` tag
 * redeployed many times keeps only its recent digests).
 */
const imagesPerReferenceMax = 16;

const DEFAULT_REGISTRY = 'docker.io';
const LEGACY_REGISTRIES = new Set(['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST_RE =
  /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;

function isDigest(value: string): value is Digest {
  return DIGEST_RE.test(value);
}

export function parseImageReference(input: string): ParseResult {
  return parsedEntry(input)?.result ?? parse(input);
}

/** The remembered entry of `input`, made on first sight; undefined for inputs too long to keep. */
function parsedEntry(input: string): ParsedEntry | undefined {
  // Longer inputs are parsed without being remembered, so the table's keys stay bounded in size.
  if (input.length > 4096) return undefined;
  let entry = parsed.get(input);
  if (entry === undefined) {
    const result = parse(input);
    if (result.ok) Object.freeze(result.value);
    entry = { result: Object.freeze(result), images: undefined };
    parsed.set(input, entry);
  }
  return entry;
}

function parse(input: string): ParseResult {
  const ref = input.trim();
  if (ref.length === 0) return { ok: false, error: 'empty image reference' };
  if (ref.length > 4096) return { ok: false, error: 'image reference longer than 4096 characters' };

  let rest = ref;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) {
      return {
        ok: false,
        error: `invalid digest "${d}": expected sha256: followed by 64 lowercase hex digits`,
      };
    }
    digest = d;
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG_RE.test(tag)) return { ok: false, error: `invalid tag "${tag}"` };
  }
  if (rest.length === 0) return { ok: false, error: `missing repository in "${ref}"` };

  let registry = DEFAULT_REGISTRY;
  let path = rest;
  const firstSlash = rest.indexOf('/');
  if (firstSlash >= 0) {
    const first = rest.slice(0, firstSlash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[')) {
      if (!HOST_RE.test(first)) return { ok: false, error: `invalid registry host "${first}"` };
      registry = first.toLowerCase();
      path = rest.slice(firstSlash + 1);
    }
  }
  if (LEGACY_REGISTRIES.has(registry)) registry = DEFAULT_REGISTRY;

  const components = path.split('/');
  for (const c of components) {
    if (!PATH_COMPONENT_RE.test(c)) {
      if (c !== c.toLowerCase()) {
        return { ok: false, error: `repository "${path}" must be lowercase` };
      }
      return { ok: false, error: `invalid repository path component "${c}" in "${ref}"` };
    }
  }
  if (registry === DEFAULT_REGISTRY && components.length === 1) path = `library/${path}`;
  if (tag === undefined && digest === undefined) tag = 'latest';

  const normalized = `${registry}/${path}${tag !== undefined ? `:${tag}` : ''}${digest !== undefined ? `@${digest}` : ''}`;
  const value: ParsedImageReference = { registry, repository: path, normalized };
  if (tag !== undefined) value.tag = tag;
  if (digest !== undefined) value.digest = digest;
  return { ok: true, value };
}

/** Why an image's digest is not known. Never guess a digest: report one of these instead. */
export type UnresolvedReason =
  | 'not-reported-by-provider'
  | 'pending-start'
  | 'lookup-failed'
  | 'invalid-reference'
  | 'registry-not-supported';

/** A container image as the console sees it: a reference and, when resolved, its digest. */
export interface ContainerImage {
  /** The reference exactly as the provider reported it. */
  reference: string;
  registry: string;
  repository: string;
  tag?: string;
  digest?: Digest;
  /** Set exactly when `digest` is absent. */
  unresolved?: { reason: UnresolvedReason; detail?: string };
}

/**
 * Builds a ContainerImage from a reference and a digest the provider resolved (which wins over a
 * digest pinned in the reference only if they agree; a disagreement keeps the provider's, which is
 * what actually ran). An unparsable reference yields an unresolved image with the parse error.
 *
 * The result is frozen and may be the same instance an earlier call returned for the same reference
 * and digest (see the top of this file): never modify it.
 */
export function toContainerImage(
  reference: string,
  resolvedDigest?: string,
  unresolvedReason: UnresolvedReason = 'not-reported-by-provider',
  unresolvedDetail?: string,
): ContainerImage {
  const entry = parsedEntry(reference);
  // Remembered: a resolved digest (valid ones only are ever stored), or none with the default reason.
  const memoKey =
    entry === undefined || !entry.result.ok
      ? undefined
      : resolvedDigest !== undefined && resolvedDigest !== ''
        ? resolvedDigest
        : unresolvedReason === 'not-reported-by-provider' && unresolvedDetail === undefined
          ? ''
          : undefined;
  if (memoKey !== undefined) {
    const known = entry?.images?.get(memoKey);
    if (known !== undefined) return known;
  }
  const img = Object.freeze(
    buildImage(
      entry?.result ?? parse(reference),
      reference,
      resolvedDigest,
      unresolvedReason,
      unresolvedDetail,
    ),
  );
  if (memoKey !== undefined && entry !== undefined && (memoKey === '' || img.digest === memoKey)) {
    if (entry.images === undefined || entry.images.size >= imagesPerReferenceMax) entry.images = new Map();
    entry.images.set(memoKey, img);
  }
  return img;
}

function buildImage(
  parsed: ParseResult,
  reference: string,
  resolvedDigest: string | undefined,
  unresolvedReason: UnresolvedReason,
  unresolvedDetail: string | undefined,
): ContainerImage {
  if (!parsed.ok) {
    const img: ContainerImage = {
      reference,
      registry: '',
      repository: '',
      unresolved: { reason: 'invalid-reference', detail: parsed.error },
    };
    if (resolvedDigest !== undefined && isDigest(resolvedDigest)) {
      img.digest = resolvedDigest;
      delete img.unresolved;
    }
    return img;
  }
  const { registry, repository, tag } = parsed.value;
  const digest =
    resolvedDigest !== undefined && isDigest(resolvedDigest) ? resolvedDigest : parsed.value.digest;
  // One object literal per shape: members added after creation would live in a separate property
  // array, about 40 bytes more for every image the watcher holds.
  if (digest !== undefined)
    return tag !== undefined
      ? { reference, registry, repository, tag, digest }
      : { reference, registry, repository, digest };
  const unresolved = Object.freeze(
    unresolvedDetail === undefined
      ? { reason: unresolvedReason }
      : { reason: unresolvedReason, detail: unresolvedDetail },
  );
  return tag !== undefined
    ? { reference, registry, repository, tag, unresolved }
    : { reference, registry, repository, unresolved };
}

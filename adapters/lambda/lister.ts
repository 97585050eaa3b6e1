/**
 * The Lambda reads of one region, each through `callLambda` (budget, throttling, metrics):
 *
 * - `listFunctionsPage`: one ListFunctions page (50 functions, `$LATEST` only), what the list and
 *   the cheap poll page through;
 * - `readFunction`: one image function whole: GetFunction (`$LATEST`'s ImageUri and
 *   ResolvedImageUri, tags), ListVersionsByFunction and ListAliases (paged, 50 a page), and each
 *   published version's image from GetFunction with its `Qualifier`, once ever: a version is
 *   immutable, so its image is kept in the key-value cache by version ARN and CodeSha256.
 *
 * Failure: a function that is gone (ResourceNotFoundException at any step) reads as undefined, as
 * does a zip function (not watched); any other error rejects. A cached entry that does not parse
 * is read again from Lambda.
 */
import {
  GetFunctionCommand,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import type { AliasConfiguration, FunctionConfiguration } from '@aws-sdk/client-lambda';
import type { ClusterObject } from '../../src/model/index.js';
import { checkPageCount, nextPageToken } from '../aws/paging.js';
import { callLambda } from './call.js';
import { functionObject, servingVersions, versionObject } from './normalizer.js';
import type { FunctionFacts, ImageCode } from './normalizer.js';
import type { RegionContext } from './region.js';

/** Lambda's page size (ListFunctions returns at most 50 whatever MaxItems asks). */
export const LAMBDA_PAGE_SIZE = 50;
const VERSION_IMAGE_CACHE = 'lambda-version-image';

export interface FunctionsPage {
  functions: FunctionConfiguration[];
  nextMarker?: string;
}

export async function listFunctionsPage(
  rc: RegionContext,
  marker: string | undefined,
): Promise<FunctionsPage> {
  const out = await callLambda(rc.deps, 'ListFunctions', () =>
    rc.clients.lambda.send(
      new ListFunctionsCommand({
        MaxItems: LAMBDA_PAGE_SIZE,
        ...(marker !== undefined ? { Marker: marker } : {}),
      }),
    ),
  );
  const next = nextPageToken('ListFunctions', marker, out.NextMarker);
  return { functions: out.Functions ?? [], ...(next !== undefined ? { nextMarker: next } : {}) };
}

/** A function and its published versions, as normalized objects. */
export interface FunctionRead {
  fn: ClusterObject;
  versions: ClusterObject[];
}

function isGone(err: unknown): boolean {
  return err instanceof Error && err.name === 'ResourceNotFoundException';
}

/** One image function whole, or undefined when it is gone or is a zip function. */
export async function readFunction(rc: RegionContext, name: string): Promise<FunctionRead | undefined> {
  try {
    const got = await callLambda(rc.deps, 'GetFunction', () =>
      rc.clients.lambda.send(new GetFunctionCommand({ FunctionName: name })),
    );
    const cfg = got.Configuration;
    if (cfg?.PackageType !== 'Image' || cfg.FunctionArn === undefined) return undefined;
    const facts: FunctionFacts = {
      name: cfg.FunctionName ?? name,
      arn: cfg.FunctionArn,
      ...(cfg.State !== undefined ? { state: cfg.State } : {}),
      ...(cfg.LastModified !== undefined ? { lastModified: cfg.LastModified } : {}),
      tags: { ...(got.Tags ?? {}) },
      code: codeOf(got.Code),
    };
    const versions = await listVersions(rc, name);
    const serving = servingVersions(await listAliases(rc, name));
    const out: ClusterObject[] = [];
    for (const v of versions) {
      if (v.Version === undefined || v.FunctionArn === undefined) continue;
      const code = await versionCode(rc, name, v);
      out.push(versionObject(rc.ctx, facts, { version: v.Version, arn: v.FunctionArn, code }, serving));
    }
    return { fn: functionObject(rc.ctx, facts), versions: out };
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

function codeOf(code: { ImageUri?: string; ResolvedImageUri?: string } | undefined): ImageCode {
  return {
    ...(code?.ImageUri !== undefined ? { imageUri: code.ImageUri } : {}),
    ...(code?.ResolvedImageUri !== undefined ? { resolvedImageUri: code.ResolvedImageUri } : {}),
  };
}

/** Every page of a Marker-paged listing, through the paging guards (adapters/aws/paging.ts). */
async function everyPage<T>(
  operation: 'ListVersionsByFunction' | 'ListAliases',
  readPage: (
    marker: string | undefined,
  ) => Promise<{ items: T[] | undefined; nextMarker: string | undefined }>,
): Promise<T[]> {
  const out: T[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    checkPageCount(operation, ++pages);
    const sent = marker;
    const page = await readPage(sent);
    out.push(...(page.items ?? []));
    marker = nextPageToken(operation, sent, page.nextMarker);
  } while (marker !== undefined);
  return out;
}

/** Published versions (not `$LATEST`), every page. */
async function listVersions(rc: RegionContext, name: string): Promise<FunctionConfiguration[]> {
  const versions = await everyPage('ListVersionsByFunction', async (marker) => {
    const page = await callLambda(rc.deps, 'ListVersionsByFunction', () =>
      rc.clients.lambda.send(
        new ListVersionsByFunctionCommand({
          FunctionName: name,
          MaxItems: LAMBDA_PAGE_SIZE,
          ...(marker !== undefined ? { Marker: marker } : {}),
        }),
      ),
    );
    return { items: page.Versions, nextMarker: page.NextMarker };
  });
  return versions.filter((v) => v.Version !== '$LATEST');
}

function listAliases(rc: RegionContext, name: string): Promise<AliasConfiguration[]> {
  return everyPage('ListAliases', async (marker) => {
    const page = await callLambda(rc.deps, 'ListAliases', () =>
      rc.clients.lambda.send(
        new ListAliasesCommand({
          FunctionName: name,
          MaxItems: LAMBDA_PAGE_SIZE,
          ...(marker !== undefined ? { Marker: marker } : {}),
        }),
      ),
    );
    return { items: page.Aliases, nextMarker: page.NextMarker };
  });
}

/** A published version's image: from the cache (immutable), else GetFunction with its qualifier. */
async function versionCode(rc: RegionContext, name: string, v: FunctionConfiguration): Promise<ImageCode> {
  const cacheKey = `${v.FunctionArn ?? ''}|${v.CodeSha256 ?? ''}`;
  const cached = parseCached(rc.deps.cache.get(VERSION_IMAGE_CACHE, cacheKey));
  if (cached !== undefined) return cached;
  const got = await callLambda(rc.deps, 'GetFunction', () =>
    rc.clients.lambda.send(new GetFunctionCommand({ FunctionName: name, Qualifier: v.Version })),
  );
  const code = codeOf(got.Code);
  if (code.imageUri !== undefined) rc.deps.cache.set(VERSION_IMAGE_CACHE, cacheKey, JSON.stringify(code));
  return code;
}

function parseCached(raw: string | undefined): ImageCode | undefined {
  if (raw === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    if (v === null || typeof v !== 'object') return undefined;
    const o = v as { imageUri?: unknown; resolvedImageUri?: unknown };
    if (typeof o.imageUri !== 'string') return undefined;
    return {
      imageUri: o.imageUri,
      ...(typeof o.resolvedImageUri === 'string' ? { resolvedImageUri: o.resolvedImageUri } : {}),
    };
  } catch {
    return undefined;
  }
}

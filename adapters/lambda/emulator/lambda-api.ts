/**
 * The Lambda REST-JSON read API over the emulated fleet, in Lambda's wire shapes: ListFunctions
 * (`GET /2015-03-31/functions/`, Marker/MaxItems, at most 50 a page, `FunctionVersion=ALL` adds the
 * published versions), GetFunction (`GET /2015-03-31/functions/{name}?Qualifier=`, with
 * `Code.ImageUri` / `Code.ResolvedImageUri` for image functions, and `Tags`), ListVersionsByFunction
 * (`.../versions`) and ListAliases (`.../aliases`, with `RoutingConfig.AdditionalVersionWeights`).
 * Markers are opaque and bound to the listing they were issued for.
 *
 * Failure: an unknown function is 404 ResourceNotFoundException; a bad marker or MaxItems is 400
 * InvalidParameterValueException (what Lambda answers).
 */
import type { EmuAlias, EmuFunction, EmuVersion, LambdaFleet } from './fleet.js';
import { FleetError } from './fleet.js';

/** Lambda pages at most 50 items whatever MaxItems asks. */
const PAGE_MAX = 50;

export interface RestRequest {
  action: string;
  /** The function name or ARN from the path (decoded). */
  functionName?: string;
  query: URLSearchParams;
}

/** Routes a path of the 2015-03-31 API to an action, or undefined for an unknown path. */
export function route(method: string, path: string, query: URLSearchParams): RestRequest | undefined {
  if (method !== 'GET') return undefined;
  const m = /^\/2015-03-31\/functions\/?([^/]*)(?:\/(versions|aliases))?\/?$/.exec(path);
  if (!m) return undefined;
  const name = m[1] ? decodeURIComponent(m[1]) : undefined;
  if (name === undefined) return m[2] ? undefined : { action: 'ListFunctions', query };
  if (m[2] === 'versions') return { action: 'ListVersionsByFunction', functionName: name, query };
  if (m[2] === 'aliases') return { action: 'ListAliases', functionName: name, query };
  return { action: 'GetFunction', functionName: name, query };
}

function lastModified(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

export function configurationOf(fn: EmuFunction, v?: EmuVersion): Record<string, unknown> {
  return {
    FunctionName: fn.name,
    FunctionArn: v ? v.arn : fn.arn,
    Role: `arn:aws:iam::${fn.arn.split(':')[4] ?? ''}:role/${fn.name}-role`,
    CodeSize: 0,
    Description: '',
    Timeout: 30,
    MemorySize: 512,
    LastModified: lastModified(v ? v.lastModifiedMs : fn.lastModifiedMs),
    CodeSha256: v ? v.codeSha256 : fn.codeSha256,
    Version: v ? v.version : '$LATEST',
    PackageType: fn.packageType,
    ...(fn.packageType === 'Zip' ? { Runtime: 'nodejs20.x', Handler: 'index.handler' } : {}),
    State: fn.state,
    LastUpdateStatus: 'Successful',
    Architectures: ['x86_64'],
    RevisionId: `${fn.name}-${v ? v.version : 'latest'}-${fn.revision}`,
  };
}

function aliasOut(a: EmuAlias): Record<string, unknown> {
  const weights = Object.keys(a.weights).length > 0;
  return {
    AliasArn: a.arn,
    Name: a.name,
    FunctionVersion: a.functionVersion,
    Description: '',
    RevisionId: a.revisionId,
    ...(weights ? { RoutingConfig: { AdditionalVersionWeights: a.weights } } : {}),
  };
}

interface Marker {
  k: string;
  i: number;
}

function page<T>(items: T[], query: URLSearchParams, listing: string): { items: T[]; next?: string } {
  const raw = query.get('MaxItems');
  let max = PAGE_MAX;
  if (raw !== null) {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 10_000)
      throw new FleetError('InvalidParameterValueException', 'MaxItems must be between 1 and 10000', 400);
    max = Math.min(n, PAGE_MAX);
  }
  let start = 0;
  const marker = query.get('Marker');
  if (marker !== null && marker !== '') {
    let m: Marker;
    try {
      m = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')) as Marker;
    } catch {
      throw new FleetError('InvalidParameterValueException', 'Invalid Marker', 400);
    }
    if (m.k !== listing || typeof m.i !== 'number')
      throw new FleetError('InvalidParameterValueException', 'Invalid Marker', 400);
    start = m.i;
  }
  const out = items.slice(start, start + max);
  const end = start + out.length;
  return end < items.length
    ? { items: out, next: Buffer.from(JSON.stringify({ k: listing, i: end })).toString('base64url') }
    : { items: out };
}

export function handle(fleet: LambdaFleet, region: string, req: RestRequest): Record<string, unknown> {
  switch (req.action) {
    case 'ListFunctions': {
      const all = req.query.get('FunctionVersion') === 'ALL';
      const configs: Record<string, unknown>[] = [];
      for (const fn of fleet.list(region)) {
        configs.push(configurationOf(fn));
        if (all) for (const v of fn.versions) configs.push(configurationOf(fn, v));
      }
      const p = page(configs, req.query, `${region}/functions/${all ? 'all' : 'latest'}`);
      return { Functions: p.items, ...(p.next !== undefined ? { NextMarker: p.next } : {}) };
    }
    case 'GetFunction': {
      const ref = req.functionName ?? '';
      const fn = fleet.get(region, ref);
      const qualifier = req.query.get('Qualifier') ?? qualifierOf(ref);
      let v: EmuVersion | undefined;
      if (qualifier !== undefined && qualifier !== '$LATEST') {
        const alias = fn.aliases.get(qualifier);
        const version = alias ? alias.functionVersion : qualifier;
        v = version === '$LATEST' ? undefined : fn.versions.find((x) => x.version === version);
        if (version !== '$LATEST' && !v)
          throw new FleetError('ResourceNotFoundException', `Function not found: ${fn.arn}:${qualifier}`);
      }
      const imageUri = v ? v.imageUri : fn.imageUri;
      const digest = v ? v.digest : fn.digest;
      const code =
        fn.packageType === 'Image' && imageUri !== undefined
          ? {
              RepositoryType: 'ECR',
              ImageUri: imageUri,
              ...(digest !== undefined ? { ResolvedImageUri: `${repositoryOf(imageUri)}@${digest}` } : {}),
            }
          : { RepositoryType: 'S3', Location: 'https://awslambda.example/snapshot.zip' };
      return { Configuration: configurationOf(fn, v), Code: code, Tags: { ...fn.tags } };
    }
    case 'ListVersionsByFunction': {
      const fn = fleet.get(region, req.functionName ?? '');
      const configs = [configurationOf(fn), ...fn.versions.map((v) => configurationOf(fn, v))];
      const p = page(configs, req.query, `${region}/${fn.name}/versions`);
      return { Versions: p.items, ...(p.next !== undefined ? { NextMarker: p.next } : {}) };
    }
    case 'ListAliases': {
      const fn = fleet.get(region, req.functionName ?? '');
      const only = req.query.get('FunctionVersion');
      const aliases = [...fn.aliases.values()]
        .filter((a) => only === null || a.functionVersion === only)
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map(aliasOut);
      const p = page(aliases, req.query, `${region}/${fn.name}/aliases`);
      return { Aliases: p.items, ...(p.next !== undefined ? { NextMarker: p.next } : {}) };
    }
    default:
      throw new FleetError('UnknownOperationException', `Unknown operation ${req.action}`, 400);
  }
}

function qualifierOf(ref: string): string | undefined {
  const i = ref.indexOf('function:');
  const rest = i >= 0 ? ref.slice(i + 'function:'.length) : ref;
  const colon = rest.indexOf(':');
  return colon >= 0 ? rest.slice(colon + 1) : undefined;
}

/** `registry/repo:tag` -> `registry/repo` (the part ResolvedImageUri pins). */
function repositoryOf(imageUri: string): string {
  const at = imageUri.indexOf('@');
  const base = at >= 0 ? imageUri.slice(0, at) : imageUri;
  const slash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  return colon > slash ? base.slice(0, colon) : base;
}

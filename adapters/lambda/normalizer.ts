/**
 * Lambda API responses -> the cluster model. The account x region is a cluster (`lambda/<account>/
 * <region>`) with one namespace; an image function is a Deployment-like workload whose one
 * container is `$LATEST`'s image (`Code.ImageUri`, with the digest of `Code.ResolvedImageUri`), its
 * tags as labels, its `State` as status, `LastModified` as order; a published version is a
 * ReplicaSet-like workload owned by the function, with the image it was published with, status
 * `Serving` when an alias routes a weight above 0 to it (the primary version gets what the
 * additional weights leave) and `Published` otherwise.
 *
 * Failure: a missing or unparsable image reference becomes an unresolved image (never a guessed
 * digest); a missing ResolvedImageUri leaves the digest unresolved (`not-reported-by-provider`).
 */
import type { AliasConfiguration } from '@aws-sdk/client-lambda';
import { toContainerImage } from '../../src/model/index.js';
import type { ClusterObject, ContainerImage, Workload } from '../../src/model/index.js';
import { awsClusterObjects } from '../aws/cluster-objects.js';
import type { AwsNormalizeContext } from '../aws/cluster-objects.js';
import { LAMBDA_NAMESPACE, clusterRemoteId, lambdaClusterId } from './keys.js';

export type NormalizeContext = AwsNormalizeContext;

/** The image fields of a GetFunction answer (`Code`). */
export interface ImageCode {
  imageUri?: string;
  resolvedImageUri?: string;
}

export interface FunctionFacts {
  name: string;
  arn: string;
  state?: string;
  lastModified?: string;
  tags: Record<string, string>;
  code: ImageCode;
}

export interface VersionFacts {
  version: string;
  arn: string;
  code: ImageCode;
}

export const NATIVE_FUNCTION = 'lambda.amazonaws.com/Function';
export const NATIVE_VERSION = 'lambda.amazonaws.com/Version';

export function clusterObjects(ctx: NormalizeContext): ClusterObject[] {
  const name = clusterRemoteId(ctx.account, ctx.region);
  return awsClusterObjects(ctx, {
    id: lambdaClusterId(ctx.account, ctx.region),
    provider: 'LAMBDA',
    remoteId: name,
    name,
    labels: {},
    metadata: { service: 'lambda', packageType: 'Image' },
    namespace: { name: LAMBDA_NAMESPACE, labels: {}, enforcement: false },
  });
}

/** `repo@sha256:…` -> `sha256:…`, or undefined. */
export function digestOfResolved(resolved: string | undefined): string | undefined {
  if (resolved === undefined) return undefined;
  const at = resolved.lastIndexOf('@');
  return at >= 0 ? resolved.slice(at + 1) : undefined;
}

export function imageOf(code: ImageCode): ContainerImage {
  return toContainerImage(
    code.imageUri ?? '',
    digestOfResolved(code.resolvedImageUri),
    'not-reported-by-provider',
  );
}

/** Lambda's `2026-11-27T10:00:00.000+0000` -> ms, or undefined. */
export function lastModifiedMs(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const ms = Date.parse(s.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isFinite(ms) ? ms : undefined;
}

export function functionObject(ctx: NormalizeContext, f: FunctionFacts): ClusterObject {
  const workload: Workload = {
    clusterId: lambdaClusterId(ctx.account, ctx.region),
    uid: f.arn,
    kind: 'Deployment',
    nativeKind: NATIVE_FUNCTION,
    namespace: LAMBDA_NAMESPACE,
    name: f.name,
    owners: [],
    labels: { ...f.tags },
    containers: [{ name: f.name, image: imageOf(f.code) }],
    ...(f.state !== undefined ? { status: f.state } : {}),
  };
  const order = lastModifiedMs(f.lastModified);
  return order !== undefined ? { kind: 'workload', workload, order } : { kind: 'workload', workload };
}

export function versionObject(
  ctx: NormalizeContext,
  f: FunctionFacts,
  v: VersionFacts,
  serving: ReadonlySet<string>,
): ClusterObject {
  return {
    kind: 'workload',
    workload: {
      clusterId: lambdaClusterId(ctx.account, ctx.region),
      uid: v.arn,
      kind: 'ReplicaSet',
      nativeKind: NATIVE_VERSION,
      namespace: LAMBDA_NAMESPACE,
      name: `${f.name}:${v.version}`,
      owners: [{ kind: 'Deployment', name: f.name, uid: f.arn }],
      labels: { ...f.tags },
      containers: [{ name: f.name, image: imageOf(v.code) }],
      status: serving.has(v.version) ? 'Serving' : 'Published',
    },
  };
}

/** The versions aliases route a weight above 0 to (`$LATEST` included when an alias names it). */
export function servingVersions(aliases: readonly AliasConfiguration[]): Set<string> {
  const out = new Set<string>();
  for (const a of aliases) {
    const extra = a.RoutingConfig?.AdditionalVersionWeights ?? {};
    let rest = 1;
    for (const [version, weight] of Object.entries(extra)) {
      if (typeof weight !== 'number' || !Number.isFinite(weight)) continue;
      rest -= weight;
      if (weight > 0) out.add(version);
    }
    if (a.FunctionVersion !== undefined && rest > 1e-9) out.add(a.FunctionVersion);
  }
  return out;
}

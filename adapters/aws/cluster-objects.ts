/**
 * The cluster an AWS provider reports (an ECS cluster, Lambda's account × region) and its one
 * namespace, in the cluster model: the provider gives the ids, name, labels, metadata and the
 * namespace's name, labels and enforcement; the account, region, tenant and agent version come from
 * the normalization context every AWS adapter builds for a region.
 */
import type { ClusterObject, Provider } from '../../src/model/index.js';

/** What every AWS normalizer needs of the region it normalizes for. */
export interface AwsNormalizeContext {
  account: string;
  region: string;
  tenant: { group: string; issuer: string };
  agentVersion: string;
}

export interface AwsClusterFacts {
  id: string;
  provider: Provider;
  remoteId: string;
  name: string;
  labels: Record<string, string>;
  metadata: Record<string, string>;
  namespace: { name: string; labels: Record<string, string>; enforcement: boolean };
}

/** The cluster, then its namespace. */
export function awsClusterObjects(ctx: AwsNormalizeContext, c: AwsClusterFacts): ClusterObject[] {
  return [
    {
      kind: 'cluster',
      cluster: {
        id: c.id,
        provider: c.provider,
        remoteId: c.remoteId,
        name: c.name,
        region: ctx.region,
        account: ctx.account,
        group: ctx.tenant.group,
        issuer: ctx.tenant.issuer,
        agentVersion: ctx.agentVersion,
        labels: c.labels,
        metadata: c.metadata,
      },
    },
    { kind: 'namespace', namespace: { clusterId: c.id, ...c.namespace } },
  ];
}

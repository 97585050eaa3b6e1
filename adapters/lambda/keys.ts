/**
 * Model keys of the Lambda adapter and their inverse. One cluster per account and region: remote
 * id and name `lambda/<account>/<region>`. A function is `workload/<clusterId>/<functionArn>`
 * (unqualified ARN), a published version `workload/<clusterId>/<functionArn>:<version>`.
 * `functionNameOfUid` and `parseWorkloadKey` return undefined for anything else (never throw).
 */
import { clusterId } from '../../src/model/index.js';

/** The one namespace of a Lambda cluster (Lambda has none of its own). */
export const LAMBDA_NAMESPACE = 'default';

export function clusterRemoteId(account: string, region: string): string {
  return `lambda/${account}/${region}`;
}

export function lambdaClusterId(account: string, region: string): string {
  return clusterId('LAMBDA', clusterRemoteId(account, region));
}

export function functionArn(region: string, account: string, name: string): string {
  return `arn:aws:lambda:${region}:${account}:function:${name}`;
}

export const workloadKey = (cid: string, uid: string): string => `workload/${cid}/${uid}`;
export const clusterKey = (cid: string): string => `cluster/${cid}`;
export const namespaceKey = (cid: string): string => `namespace/${cid}/${LAMBDA_NAMESPACE}`;

/** A function reference (`name`, `name:qualifier`, a full or partial ARN) -> the function name. */
export function functionNameOf(ref: string): string | undefined {
  const i = ref.indexOf('function:');
  const rest = i >= 0 ? ref.slice(i + 'function:'.length) : ref;
  const name = rest.split(':')[0] ?? '';
  return /^[A-Za-z0-9_-]{1,140}$/.test(name) ? name : undefined;
}

/** The qualifier of a function reference (`3`, `live`), if it has one. */
export function qualifierOf(ref: string): string | undefined {
  const i = ref.indexOf('function:');
  const rest = i >= 0 ? ref.slice(i + 'function:'.length) : ref;
  const parts = rest.split(':');
  return parts.length > 1 && parts[1] !== '' ? parts[1] : undefined;
}

/** `workload/<cid>/<arn>[:<version>]` of `cid` -> the function name and version. */
export function parseWorkloadKey(key: string, cid: string): { name: string; version?: string } | undefined {
  const prefix = `workload/${cid}/`;
  if (!key.startsWith(prefix)) return undefined;
  const uid = key.slice(prefix.length);
  if (!uid.startsWith('arn:aws') || !uid.includes(':function:')) return undefined;
  const name = functionNameOf(uid);
  if (name === undefined) return undefined;
  const version = qualifierOf(uid);
  return version !== undefined ? { name, version } : { name };
}

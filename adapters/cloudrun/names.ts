/**
 * Cloud Run resource names and references: building v2 names from (project, region, name) parts and
 * reading v2 names returned by the API. Audit entries are keyed by their `resource.labels`, never by
 * parsing `resourceName` (whose form differs between API versions).
 */

export type RunResourceRef =
  | { kind: 'service'; project: string; region: string; name: string }
  | { kind: 'revision'; project: string; region: string; service: string; name: string }
  | { kind: 'job'; project: string; region: string; name: string }
  | { kind: 'execution'; project: string; region: string; job: string; name: string }
  | { kind: 'workerPool'; project: string; region: string; name: string };

export function locationName(project: string, region: string): string {
  return `projects/${project}/locations/${region}`;
}

/** The full v2 resource name of a reference. */
export function resourceName(ref: RunResourceRef): string {
  const loc = locationName(ref.project, ref.region);
  switch (ref.kind) {
    case 'service':
      return `${loc}/services/${ref.name}`;
    case 'revision':
      return `${loc}/services/${ref.service}/revisions/${ref.name}`;
    case 'job':
      return `${loc}/jobs/${ref.name}`;
    case 'execution':
      return `${loc}/jobs/${ref.job}/executions/${ref.name}`;
    case 'workerPool':
      return `${loc}/workerPools/${ref.name}`;
  }
}

const V2_NAME_RE =
  /^projects\/([^/]+)\/locations\/([^/]+)\/(services|jobs|workerPools)\/([^/]+)(?:\/(revisions|executions)\/([^/]+))?$/;

/** Reads a v2 resource name as returned by the Run Admin API; undefined when it is not one. */
export function parseResourceName(name: string): RunResourceRef | undefined {
  const m = V2_NAME_RE.exec(name);
  if (!m) return undefined;
  const [, project = '', region = '', collection, parent = '', sub, child] = m;
  if (collection === 'services') {
    if (sub === 'revisions' && child)
      return { kind: 'revision', project, region, service: parent, name: child };
    if (sub === undefined) return { kind: 'service', project, region, name: parent };
    return undefined;
  }
  if (collection === 'jobs') {
    if (sub === 'executions' && child)
      return { kind: 'execution', project, region, job: parent, name: child };
    if (sub === undefined) return { kind: 'job', project, region, name: parent };
    return undefined;
  }
  if (sub === undefined) return { kind: 'workerPool', project, region, name: parent };
  return undefined;
}

/** The last path segment of a name (`.../revisions/r-00001` -> `r-00001`). */
export function shortName(name: string): string {
  const i = name.lastIndexOf('/');
  return i >= 0 ? name.slice(i + 1) : name;
}

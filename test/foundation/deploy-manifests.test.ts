import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { imageEnv } from '../../bench/image-env.js';
import { defaults } from '../../src/config/defaults.js';

const deploy = resolve(import.meta.dirname, '../../config/deploy');

function load(file: string): Record<string, unknown> {
  const docs = parseAllDocuments(readFileSync(resolve(deploy, file), 'utf8'));
  const first = docs[0];
  if (!first) throw new Error(`${file} is empty`);
  return first.toJS() as Record<string, unknown>;
}

describe('Kubernetes manifests for the hosted model', () => {
  it('lists every manifest in the kustomization', () => {
    const k = load('kustomization.yaml') as { resources: string[] };
    const files = readdirSync(deploy).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...k.resources].sort()).toEqual(files.sort());
  });

  it('probes /livez for liveness and startup and /readyz for readiness, mounts config, token and state, runs as non-root', () => {
    const d = load('statefulset.yaml') as {
      spec: {
        replicas: number;
        template: {
          spec: { containers: Array<Record<string, unknown>>; securityContext: { runAsNonRoot: boolean } };
        };
      };
    };
    expect(d.spec.replicas).toBe(2);
    const c = d.spec.template.spec.containers[0] as {
      readinessProbe: { httpGet: { path: string } };
      livenessProbe: { httpGet: { path: string } };
      startupProbe: { httpGet: { path: string } };
      volumeMounts: Array<{ mountPath: string }>;
      resources: { requests: { memory: string } };
    };
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    // Never /healthz: it is 503 during a console outage, and a restart would only reset backoff.
    expect(c.livenessProbe.httpGet.path).toBe('/livez');
    expect(c.startupProbe.httpGet.path).toBe('/livez');
    expect(c.volumeMounts.map((m) => m.mountPath)).toEqual(
      expect.arrayContaining(['/etc/sightline', '/var/run/secrets/sightline', '/var/lib/sightline']),
    );
    expect(c.resources.requests.memory).toBeDefined();
    expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it('ships a ConfigMap whose config validates against the schema', () => {
    const cm = load('configmap.yaml') as { data: { 'config.yaml': string } };
    const config = parseConfig(cm.data['config.yaml'], 'configmap.yaml', {
      env: { SIGHTLINE_EXTERNAL_ID: 'ext-1', POD_NAMESPACE: 'sightline' },
      checkFiles: false,
    });
    expect(config.console.tokenFile).toBe('/var/run/secrets/sightline/token');
    expect(config.stateDir).toBe('/var/lib/sightline');
  });
});

describe('the Docker image HEALTHCHECK', () => {
  const dockerfile = readFileSync(resolve(import.meta.dirname, '../../Dockerfile'), 'utf8');

  it('runs bin/healthcheck.js (which probes /livez on the configured port), with no port in the instruction', () => {
    const lines = dockerfile.split('\n');
    const start = lines.findIndex((l) => l.startsWith('HEALTHCHECK'));
    let end = start;
    while (lines[end]?.endsWith('\\')) end += 1;
    const hc = lines.slice(start, end + 1).join('\n');
    expect(hc).toContain('bin/healthcheck.js');
    expect(hc).not.toMatch(/9090|healthz/);
    expect(imageEnv(resolve(import.meta.dirname, '../../Dockerfile'))['SIGHTLINE_CONFIG']).toBe(
      '/etc/sightline/config.yaml',
    );
  });

  it('derives the /livez URL from http.listen (env substitution, wildcard hosts, IPv6) and the default', async () => {
    const { livezUrl, DEFAULT_LISTEN } = await import('../../bin/healthcheck.js');
    expect(DEFAULT_LISTEN).toBe(defaults.http.listen);
    expect(livezUrl('http: { listen: "0.0.0.0:8081" }')).toBe('http://127.0.0.1:8081/livez');
    expect(livezUrl('http: { listen: "[::]:8082" }')).toBe('http://[::1]:8082/livez');
    expect(livezUrl('http: { listen: "10.0.0.7:8083" }')).toBe('http://10.0.0.7:8083/livez');
    expect(livezUrl('http: { listen: "0.0.0.0:${SL_HC_UNSET_PORT:-8084}" }')).toBe(
      'http://127.0.0.1:8084/livez',
    );
    expect(livezUrl('stateDir: /x\n')).toBe('http://127.0.0.1:9090/livez');
    expect(() => livezUrl('http: { listen: "127.0.0.1:0" }')).toThrow(/no fixed port/);
    const cm = load('configmap.yaml') as { data: { 'config.yaml': string } };
    expect(livezUrl(cm.data['config.yaml'])).toBe('http://127.0.0.1:9090/livez');
  });

  it('exits 0 when /livez answers 200 and 1 with the reason otherwise (the script as the image runs it)', async () => {
    const { createServer } = await import('node:http');
    let status = 200;
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/livez' ? status : 404).end(req.url === '/livez' ? 'body' : 'nope');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'sightline-hc-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `http: { listen: "0.0.0.0:${port}" }\n`);
    const run = async (): Promise<{ code: number | null; stderr: string }> => {
      const { spawn } = await import('node:child_process');
      const child = spawn(process.execPath, [resolve(import.meta.dirname, '../../bin/healthcheck.js')], {
        env: { ...process.env, SIGHTLINE_CONFIG: config },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      return { code, stderr };
    };
    try {
      expect(await run()).toEqual({ code: 0, stderr: '' });
      status = 503;
      const failed = await run();
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain(`http://127.0.0.1:${port}/livez answered 503`);
    } finally {
      server.close();
    }
  });
});

describe('two replicas, one writer (leader election on a Lease)', () => {
  type PodSpec = {
    serviceAccountName: string;
    affinity: {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: Array<{
          topologyKey: string;
          labelSelector: { matchLabels: Record<string, string> };
        }>;
      };
    };
    containers: Array<{
      env: Array<{ name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
      volumeMounts: Array<{ name: string; mountPath: string }>;
    }>;
    volumes: Array<{ name: string }>;
  };
  const sts = load('statefulset.yaml') as {
    kind: string;
    spec: {
      replicas: number;
      serviceName: string;
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
      volumeClaimTemplates: Array<{ metadata: { name: string }; spec: { accessModes: string[] } }>;
    };
  };
  const pod = sts.spec.template.spec;

  it('runs two replicas as a StatefulSet, each with its own ReadWriteOnce state volume', () => {
    expect(sts.kind).toBe('StatefulSet');
    expect(sts.spec.replicas).toBe(2);
    const [claim] = sts.spec.volumeClaimTemplates;
    expect(claim?.metadata.name).toBe('state');
    expect(claim?.spec.accessModes).toEqual(['ReadWriteOnce']);
    // The state volume comes from the claim template, never a shared claim.
    expect(pod.volumes.map((v) => v.name)).not.toContain('state');
    expect(pod.containers[0]?.volumeMounts).toContainEqual({
      name: 'state',
      mountPath: '/var/lib/sightline',
    });
    const svc = load('service.yaml') as { metadata: { name: string }; spec: { clusterIP: string } };
    expect(sts.spec.serviceName).toBe(svc.metadata.name);
    expect(svc.spec.clusterIP).toBe('None');
  });

  it('never schedules both replicas on one node, and a disruption budget keeps one up', () => {
    const [rule] = pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(rule?.topologyKey).toBe('kubernetes.io/hostname');
    expect(rule?.labelSelector.matchLabels).toEqual(sts.spec.selector.matchLabels);
    const pdb = load('pdb.yaml') as {
      kind: string;
      spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(pdb.kind).toBe('PodDisruptionBudget');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(sts.spec.selector.matchLabels);
  });

  it('may get, create and update its Lease in its own namespace only, and nothing else', () => {
    const role = load('role.yaml') as {
      kind: string;
      metadata: { name: string; namespace?: string };
      rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }>;
    };
    expect(role.kind).toBe('Role'); // namespaced, not a ClusterRole
    const cm = load('configmap.yaml') as { data: { 'config.yaml': string } };
    const config = parseConfig(cm.data['config.yaml'], 'configmap.yaml', {
      env: { SIGHTLINE_EXTERNAL_ID: 'ext-1', POD_NAMESPACE: 'tenant-ns' },
      checkFiles: false,
    });
    expect(config.leaderElection).toMatchObject({ enabled: true, namespace: 'tenant-ns' });
    for (const r of role.rules) {
      expect(r.apiGroups).toEqual(['coordination.k8s.io']);
      expect(r.resources).toEqual(['leases']);
      if (r.resourceNames) expect(r.resourceNames).toEqual([config.leaderElection.leaseName]);
    }
    const verbs = role.rules.flatMap((r) => r.verbs).sort();
    expect(verbs).toEqual(['create', 'get', 'update']);
    const binding = load('rolebinding.yaml') as {
      roleRef: { kind: string; name: string };
      subjects: Array<{ kind: string; name: string }>;
    };
    expect(binding.roleRef).toMatchObject({ kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName }]);
  });

  it('gives the container its pod name and namespace (the Lease holder and namespace)', () => {
    const env = pod.containers[0]?.env ?? [];
    const field = (name: string): string | undefined =>
      env.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
    expect(field('POD_NAME')).toBe('metadata.name');
    expect(field('POD_NAMESPACE')).toBe('metadata.namespace');
  });
});

describe('the Docker image runtime environment (what bench/daemon.ts runs the watcher with)', () => {
  it('is read from the last stage of the Dockerfile: heap cap, young generation, allocator', () => {
    const env = imageEnv(resolve(import.meta.dirname, '../../Dockerfile'));
    expect(env['NODE_OPTIONS']).toMatch(/--max-old-space-size=\d+/);
    expect(env['NODE_OPTIONS']).toMatch(/--max-semi-space-size=\d+/);
    expect(env['MALLOC_MMAP_THRESHOLD_']).toMatch(/^\d+$/);
    expect(env['NODE_ENV']).toBe('production');
  });

  it('reads quoted values and continuation lines, and refuses what it cannot read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sightline-dockerfile-'));
    const file = join(dir, 'Dockerfile');
    writeFileSync(
      file,
      'FROM a AS build\nENV X=1\nFROM b\n# ENV IGNORED=1\nENV A="x y" \\\n    B=2\nENV C="q\\"d"\n',
    );
    expect(imageEnv(file)).toEqual({ A: 'x y', B: '2', C: 'q"d' });
    writeFileSync(file, 'FROM b\nENV A x\n');
    expect(() => imageEnv(file)).toThrow(/cannot read ENV instruction "ENV A x"/);
  });
});

import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';

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

  it('probes /healthz and /readyz, mounts config, token and state, runs as non-root', () => {
    const d = load('deployment.yaml') as {
      spec: {
        replicas: number;
        template: {
          spec: { containers: Array<Record<string, unknown>>; securityContext: { runAsNonRoot: boolean } };
        };
      };
    };
    expect(d.spec.replicas).toBe(1);
    const c = d.spec.template.spec.containers[0] as {
      readinessProbe: { httpGet: { path: string } };
      livenessProbe: { httpGet: { path: string } };
      volumeMounts: Array<{ mountPath: string }>;
      resources: { requests: { memory: string } };
    };
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.volumeMounts.map((m) => m.mountPath)).toEqual(
      expect.arrayContaining(['/etc/sightline', '/var/run/secrets/sightline', '/var/lib/sightline']),
    );
    expect(c.resources.requests.memory).toBeDefined();
    expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it('ships a ConfigMap whose config validates against the schema', () => {
    const cm = load('configmap.yaml') as { data: { 'config.yaml': string } };
    const config = parseConfig(cm.data['config.yaml'], 'configmap.yaml', {
      env: { SIGHTLINE_EXTERNAL_ID: 'ext-1' },
      checkFiles: false,
    });
    expect(config.console.tokenFile).toBe('/var/run/secrets/sightline/token');
    expect(config.stateDir).toBe('/var/lib/sightline');
  });
});

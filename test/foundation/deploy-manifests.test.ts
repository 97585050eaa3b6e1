import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { imageEnv } from '../../bench/image-env.js';

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

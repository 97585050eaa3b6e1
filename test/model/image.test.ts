import { describe, expect, it } from 'vitest';
import { parseImageReference, toContainerImage } from '../../src/model/image.js';

const D = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;

describe('parseImageReference', () => {
  it.each([
    ['nginx', 'docker.io', 'library/nginx', 'latest', undefined, 'docker.io/library/nginx:latest'],
    ['nginx:1.27', 'docker.io', 'library/nginx', '1.27', undefined, 'docker.io/library/nginx:1.27'],
    ['bitnami/redis:7', 'docker.io', 'bitnami/redis', '7', undefined, 'docker.io/bitnami/redis:7'],
    [
      'index.docker.io/library/busybox',
      'docker.io',
      'library/busybox',
      'latest',
      undefined,
      'docker.io/library/busybox:latest',
    ],
    ['localhost:5000/app', 'localhost:5000', 'app', 'latest', undefined, 'localhost:5000/app:latest'],
    ['localhost/app:dev', 'localhost', 'app', 'dev', undefined, 'localhost/app:dev'],
    [
      'registry.example.com:8443/team/app:v1.2.3',
      'registry.example.com:8443',
      'team/app',
      'v1.2.3',
      undefined,
      'registry.example.com:8443/team/app:v1.2.3',
    ],
    [
      `cgr.dev/chainguard/nginx@${D}`,
      'cgr.dev',
      'chainguard/nginx',
      undefined,
      D,
      `cgr.dev/chainguard/nginx@${D}`,
    ],
    [
      `cgr.dev/chainguard/nginx:latest@${D}`,
      'cgr.dev',
      'chainguard/nginx',
      'latest',
      D,
      `cgr.dev/chainguard/nginx:latest@${D}`,
    ],
    [
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/web:2024-01-01',
      '123456789012.dkr.ecr.us-east-1.amazonaws.com',
      'web',
      '2024-01-01',
      undefined,
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/web:2024-01-01',
    ],
    [
      'us-docker.pkg.dev/cloudrun/container/hello',
      'us-docker.pkg.dev',
      'cloudrun/container/hello',
      'latest',
      undefined,
      'us-docker.pkg.dev/cloudrun/container/hello:latest',
    ],
    [
      'gcr.io/my-proj/api_server__x:1',
      'gcr.io',
      'my-proj/api_server__x',
      '1',
      undefined,
      'gcr.io/my-proj/api_server__x:1',
    ],
    ['[::1]:5000/app:1', '[::1]:5000', 'app', '1', undefined, '[::1]:5000/app:1'],
  ])('%s', (input, registry, repository, tag, digest, normalized) => {
    const r = parseImageReference(input);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.registry).toBe(registry);
    expect(r.value.repository).toBe(repository);
    expect(r.value.tag).toBe(tag);
    expect(r.value.digest).toBe(digest);
    expect(r.value.normalized).toBe(normalized);
  });

  it.each([
    ['', 'empty'],
    ['Nginx:latest', 'lowercase'],
    ['docker.io/Team/app', 'lowercase'],
    ['nginx@sha256:abc', 'invalid digest'],
    [`nginx@sha512:${'a'.repeat(128)}`, 'invalid digest'],
    ['nginx:bad tag', 'invalid tag'],
    ['nginx:-lead', 'invalid tag'],
    ['bad_host-.com:80/app', 'invalid'],
    [':tag', 'missing repository'],
    ['a//b', 'invalid repository path component'],
  ])('rejects %j with a specific message', (input, fragment) => {
    const r = parseImageReference(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(fragment);
  });
});

describe('toContainerImage', () => {
  it('uses the digest the provider resolved', () => {
    const img = toContainerImage('nginx:1.27', D);
    expect(img).toMatchObject({
      reference: 'nginx:1.27',
      registry: 'docker.io',
      repository: 'library/nginx',
      tag: '1.27',
      digest: D,
    });
    expect(img.unresolved).toBeUndefined();
  });

  it('takes a digest pinned in the reference when the provider reports none', () => {
    expect(toContainerImage(`nginx@${D}`).digest).toBe(D);
  });

  it('prefers what actually ran over the pin when they disagree', () => {
    expect(toContainerImage(`nginx@${D}`, D2).digest).toBe(D2);
  });

  it('never invents a digest: unresolved with a reason', () => {
    const img = toContainerImage('nginx:1.27', undefined, 'pending-start');
    expect(img.digest).toBeUndefined();
    expect(img.unresolved).toEqual({ reason: 'pending-start' });
  });

  it('ignores a malformed resolved digest instead of passing it on', () => {
    const img = toContainerImage('nginx:1.27', 'sha256:nothex');
    expect(img.digest).toBeUndefined();
    expect(img.unresolved?.reason).toBe('not-reported-by-provider');
  });

  it('reports an unparsable reference as unresolved with the parse error', () => {
    const img = toContainerImage('Bad/Ref');
    expect(img.unresolved?.reason).toBe('invalid-reference');
    expect(img.unresolved?.detail).toContain('lowercase');
  });
});

describe('parseImageReference, remembered per reference', () => {
  it('gives the same answer again, and no caller can change what the next one gets', () => {
    const first = parseImageReference('ghcr.io/acme/api:2.1');
    const again = parseImageReference('ghcr.io/acme/api:2.1');
    expect(again).toEqual(first);
    if (!first.ok) throw new Error('expected a parsed reference');
    expect(() => {
      (first.value as { tag?: string }).tag = 'tampered';
    }).toThrow(TypeError);
    expect(parseImageReference('ghcr.io/acme/api:2.1')).toEqual({
      ok: true,
      value: { registry: 'ghcr.io', repository: 'acme/api', tag: '2.1', normalized: 'ghcr.io/acme/api:2.1' },
    });
  });

  it('remembers refusals too, with the same specific error', () => {
    const bad = parseImageReference('Bad/Ref');
    expect(parseImageReference('Bad/Ref')).toEqual(bad);
    expect(bad.ok).toBe(false);
  });

  it('still refuses an over-long reference, without keeping it', () => {
    const long = `registry.example.com/${'a'.repeat(5000)}`;
    expect(parseImageReference(long)).toEqual({
      ok: false,
      error: 'image reference longer than 4096 characters',
    });
  });

  it('stays right past its bound: 10,000 distinct references parse to their own names', () => {
    for (let i = 0; i < 10_000; i++) {
      const r = parseImageReference(`registry.example.com/team/app-${i}:v${i}`);
      if (!r.ok || r.value.repository !== `team/app-${i}` || r.value.tag !== `v${i}`)
        throw new Error(`wrong at ${i}`);
    }
    const early = parseImageReference('registry.example.com/team/app-0:v0');
    expect(early.ok && early.value.repository).toBe('team/app-0');
  });
});

describe('toContainerImage, one frozen image per reference and digest', () => {
  it('hands out the same instance for the same reference and resolved digest, and no caller can change it', () => {
    const a = toContainerImage('ghcr.io/acme/web:3', D);
    const b = toContainerImage('ghcr.io/acme/web:3', D);
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(() => {
      (a as { digest?: string }).digest = D2;
    }).toThrow(TypeError);
    expect(toContainerImage('ghcr.io/acme/web:3', D).digest).toBe(D);
  });

  it('keeps different digests, references and reasons apart', () => {
    const a = toContainerImage('ghcr.io/acme/web:4', D);
    expect(toContainerImage('ghcr.io/acme/web:4', D2).digest).toBe(D2);
    expect(toContainerImage('ghcr.io/acme/web:5', D).reference).toBe('ghcr.io/acme/web:5');
    expect(toContainerImage('ghcr.io/acme/web:4').unresolved).toEqual({ reason: 'not-reported-by-provider' });
    expect(toContainerImage('ghcr.io/acme/web:4', undefined, 'pending-start').unresolved).toEqual({
      reason: 'pending-start',
    });
    expect(toContainerImage('ghcr.io/acme/web:4', undefined, 'lookup-failed', '503').unresolved).toEqual({
      reason: 'lookup-failed',
      detail: '503',
    });
    // An empty resolved digest is no digest: the reason given still counts.
    expect(toContainerImage('ghcr.io/acme/web:4', '', 'pending-start').unresolved).toEqual({
      reason: 'pending-start',
    });
    expect(toContainerImage('ghcr.io/acme/web:4', D)).toBe(a);
  });

  it('never remembers a malformed digest as if it were one', () => {
    const bad = toContainerImage('ghcr.io/acme/web:6', 'sha256:nothex');
    expect(bad.digest).toBeUndefined();
    const again = toContainerImage('ghcr.io/acme/web:6', 'sha256:nothex');
    expect(again.digest).toBeUndefined();
    expect(again.unresolved?.reason).toBe('not-reported-by-provider');
    // A digest pinned in the reference still wins over a malformed resolved one.
    expect(toContainerImage(`ghcr.io/acme/web@${D}`, 'sha256:nothex').digest).toBe(D);
  });

  it('stays right for a tag redeployed with more digests than it remembers', () => {
    const digests = Array.from({ length: 40 }, (_, i) => `sha256:${i.toString(16).padStart(64, '0')}`);
    for (let round = 0; round < 2; round++)
      for (const d of digests) expect(toContainerImage('ghcr.io/acme/web:latest', d).digest).toBe(d);
  });

  it('builds an image for an unparsable reference without sharing a mutable one', () => {
    const a = toContainerImage('Bad/Ref', D);
    expect(a.digest).toBe(D);
    expect(a.unresolved).toBeUndefined();
    expect(toContainerImage('Bad/Ref').unresolved?.reason).toBe('invalid-reference');
    expect(Object.isFrozen(a)).toBe(true);
  });
});

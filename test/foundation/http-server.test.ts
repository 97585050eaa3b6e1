import { afterEach, describe, expect, it } from 'vitest';
import { Health } from '../../src/runtime/health.js';
import { startHttpServer } from '../../src/runtime/http-server.js';
import type { HttpServerHandle } from '../../src/runtime/http-server.js';
import { CoreMetrics, createRegistry } from '../../src/runtime/metrics.js';

let server: HttpServerHandle | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function get(path: string): Promise<{ status: number; body: string; type: string | null }> {
  if (!server) throw new Error('no server');
  const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

describe('operations HTTP server (real HTTP on loopback)', () => {
  it('answers /readyz 503 until every expected source completed its first list', async () => {
    const health = new Health();
    health.expectReady('ecs/us-east-1/tasks');
    health.expectReady('cloudrun/p/us-central1');
    server = await startHttpServer('127.0.0.1:0', health, createRegistry(false));
    let r = await get('/readyz');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toEqual({
      status: 'not ready',
      pending: ['cloudrun/p/us-central1', 'ecs/us-east-1/tasks'],
    });
    health.markReady('ecs/us-east-1/tasks');
    health.markReady('cloudrun/p/us-central1');
    r = await get('/readyz');
    expect(r.status).toBe(200);
  });

  it('answers /healthz 200 while checks pass and 503 with the reason when one fails', async () => {
    const health = new Health();
    let consoleOk = true;
    health.addCheck('console', () =>
      consoleOk ? { ok: true } : { ok: false, reason: 'UNAUTHENTICATED: token rejected' },
    );
    health.addCheck('throws', () => ({ ok: true }));
    server = await startHttpServer('127.0.0.1:0', health, createRegistry(false));
    expect((await get('/healthz')).status).toBe(200);
    consoleOk = false;
    const r = await get('/healthz');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).checks.console).toEqual({
      ok: false,
      reason: 'UNAUTHENTICATED: token rejected',
    });
  });

  it('counts a throwing check as unhealthy instead of crashing', async () => {
    const health = new Health();
    health.addCheck('broken', () => {
      throw new Error('boom');
    });
    server = await startHttpServer('127.0.0.1:0', health, createRegistry(false));
    const r = await get('/healthz');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).checks.broken.reason).toBe('boom');
  });

  it('serves the core metrics in Prometheus text format', async () => {
    const registry = createRegistry(true);
    const m = new CoreMetrics(registry);
    m.apiCalls.inc({ provider: 'ECS', operation: 'ListTasks', outcome: 'ok' }, 3);
    m.queueDepth.set({ queue: 'outbox' }, 7);
    server = await startHttpServer('127.0.0.1:0', new Health(), registry);
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/plain');
    expect(r.body).toContain(
      'sightline_api_calls_total{provider="ECS",operation="ListTasks",outcome="ok"} 3',
    );
    expect(r.body).toContain('sightline_queue_depth{queue="outbox"} 7');
    expect(r.body).toContain('sightline_process_resident_memory_bytes');
  });

  it('404s unknown paths and rejects other methods', async () => {
    server = await startHttpServer('127.0.0.1:0', new Health(), createRegistry(false));
    expect((await get('/nope')).status).toBe(404);
    const res = await fetch(`http://127.0.0.1:${server.port}/healthz`, { method: 'POST' });
    expect(res.status).toBe(405);
  });

  it('names the address when it cannot bind', async () => {
    server = await startHttpServer('127.0.0.1:0', new Health(), createRegistry(false));
    await expect(
      startHttpServer(`127.0.0.1:${server.port}`, new Health(), createRegistry(false)),
    ).rejects.toThrow(`cannot listen on 127.0.0.1:${server.port}`);
  });
});

/**
 * The reference console's web view over HTTP, on a real store: who may read it (bearer header,
 * login form and its cookie, expiry), that every value from the clouds is escaped, the security
 * headers, the pages' content (clusters, a cluster's namespaces and workloads by kind, images with
 * search and current/superseded), and that a refresh gets only `<main>`'s content.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleStore } from '../../src/console/server/store.js';
import { parseWebListen, startWebView } from '../../src/console/server/web/web-server.js';
import type { WebView } from '../../src/console/server/web/web-server.js';
import { escapeHtml, html } from '../../src/console/server/web/html.js';
import type { WireImage, WorkloadSighting } from '../../src/console/wire-types.js';
import { createHash } from 'node:crypto';

/** A digest that looks like one (distinct hex digits from the start). */
function digestOf(n: number): string {
  return `sha256:${createHash('sha256').update(String(n)).digest('hex')}`;
}

const TOKEN = 'web-token-0123456789abcdef';
const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);
const EVIL = '<script>alert(1)</script>';
const EVIL_ATTR = '"><img src=x onerror=alert(2)>';

let now = T0;
let store: ConsoleStore;
let web: WebView;

function image(ref: string, digest: string, reason = ''): WireImage {
  return {
    ref,
    registry: 'docker.io',
    repository: ref.split(':')[0] ?? '',
    tag: ref.split(':')[1] ?? '',
    digest,
    unresolved_reason: reason,
    unresolved_detail: '',
  };
}

function workload(
  cluster: string,
  uid: string,
  kind: string,
  name: string,
  img: WireImage,
  seenMs: number,
): WorkloadSighting {
  return {
    cluster_id: cluster,
    uid,
    kind: { group: 'apps', version: 'v1', kind },
    native_kind: 'service',
    namespace: 'demo-project',
    name,
    owners: [],
    labels: {},
    containers: [{ name: 'main', image: img, first_seen_ms: seenMs, last_seen_ms: seenMs }],
    node_id: '',
    status: 'Running',
    first_seen_ms: seenMs,
    last_seen_ms: seenMs,
  };
}

function register(id: string, name: string, provider: 'CLOUD_RUN' | 'ECS', region: string): void {
  store.register({
    id,
    provider,
    remote_id: `remote-${id}`,
    name,
    region,
    account: 'acct',
    issuer: 'https://issuer.test',
    platform_version: 'v2',
    agent_version: '9.9.9',
    group: 'g',
    profiles: ['observer'],
    labels: {},
    metadata: {},
    observed_ms: now,
  });
}

beforeEach(async () => {
  now = T0;
  store = new ConsoleStore(':memory:', () => now);
  register('c-run', 'demo-project/us-central1', 'CLOUD_RUN', 'us-central1');
  register('c-ecs', `payments${EVIL}`, 'ECS', 'us-east-1');
  store.namespace({
    cluster_id: 'c-run',
    name: 'demo-project',
    labels: { team: EVIL_ATTR, env: 'prod' },
    enforcement: false,
    first_seen_ms: T0,
    last_seen_ms: T0,
  });
  store.node({
    cluster_id: 'c-ecs',
    id: 'ci-1',
    name: 'ci-1',
    metadata: {},
    first_seen_ms: T0,
    last_seen_ms: T0,
  });
  // checkout: first an unresolved image, then rolled to a digest (the old one is superseded).
  store.workload(
    workload(
      'c-run',
      'u1',
      'Deployment',
      'checkout',
      image('shop/checkout:1.4.0', '', 'pending-start'),
      T0 - 60_000,
    ),
  );
  store.workload(
    workload('c-run', 'u1', 'Deployment', 'checkout', image('shop/checkout:1.5.0', digestOf(5)), T0),
  );
  store.workload(
    workload('c-run', 'u2', 'ReplicaSet', 'checkout-00002', image('shop/checkout:1.5.0', digestOf(5)), T0),
  );
  store.workload(workload('c-ecs', 'u3', 'Pod', `task${EVIL}`, image(`ledger${EVIL}:3`, digestOf(3)), T0));
  web = await startWebView({
    listen: '127.0.0.1:0',
    token: TOKEN,
    store,
    nowMs: () => now,
    refreshMs: 1_500,
  });
});

afterEach(async () => {
  await web.stop();
  store.close();
});

async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${web.url}${path}`, { headers, redirect: 'manual' });
}

const bearer = { Authorization: `Bearer ${TOKEN}` };

async function login(token: string): Promise<Response> {
  return fetch(`${web.url}/login`, {
    method: 'POST',
    body: new URLSearchParams({ token }),
    redirect: 'manual',
  });
}

describe('web view: access', () => {
  it('listens on loopback by default and parses every --web form', () => {
    expect(web.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(parseWebListen('8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseWebListen(':8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseWebListen('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 });
    expect(parseWebListen('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(() => parseWebListen('host:99999')).toThrow(/--web must be/);
    expect(() => parseWebListen('nope')).toThrow(/--web must be/);
  });

  it('sends a browser without a session to the login form, and refuses a wrong or missing token', async () => {
    const page = await get('/clusters');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login');
    expect((await get('/clusters', { 'X-Sightline-Fragment': '1' })).status).toBe(401);
    const wrong = await get('/clusters', { Authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain('not-the-token');
    expect((await get('/images', { Authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    const ok = await get('/clusters', bearer);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('demo-project/us-central1');
  });

  it('signs in with the token: an HttpOnly SameSite=Strict cookie that is not the token and expires', async () => {
    const bad = await login('guess');
    expect(bad.status).toBe(401);
    expect(await bad.text()).toMatch(/not the console token/);
    expect(bad.headers.get('set-cookie')).toBeNull();

    const good = await login(TOKEN);
    expect(good.status).toBe(303);
    const setCookie = good.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^sightline_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(setCookie).not.toContain(TOKEN);
    const cookie = setCookie.split(';')[0] ?? '';
    expect((await get('/clusters', { Cookie: cookie })).status).toBe(200);

    const [issued, mac] = cookie.split('=')[1]?.split('.') ?? [];
    const forged = `sightline_session=${Number(issued) + 1}.${mac ?? ''}`;
    expect((await get('/clusters', { Cookie: forged })).status).toBe(303);

    now = T0 + 12 * 3_600_000 + 1;
    expect((await get('/clusters', { Cookie: cookie })).status).toBe(303);

    const out = await fetch(`${web.url}/logout`, { method: 'POST', redirect: 'manual' });
    expect(out.headers.get('set-cookie')).toMatch(/sightline_session=; .*Max-Age=0/);
  });

  it('is read-only and sends no-cache, no-framing and same-origin-only script headers', async () => {
    const r = await get('/clusters', bearer);
    expect(r.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const post = await fetch(`${web.url}/clusters`, { method: 'POST', headers: bearer });
    expect(post.status).toBe(405);
    expect((await get('/static/web.js')).headers.get('content-type')).toMatch(/javascript/);
    expect(await (await get('/static/web.css')).text()).toContain('table');
    const tooBig = await fetch(`${web.url}/login`, { method: 'POST', body: 'token='.padEnd(20_000, 'x') });
    expect(tooBig.status).toBe(413);
  });
});

describe('web view: pages', () => {
  it('escapes every value from the clouds, in text and in attributes', async () => {
    for (const path of ['/clusters', '/images', '/clusters/c-run', '/clusters/c-ecs']) {
      const body = await (await get(path, bearer)).text();
      expect(body, path).not.toContain(EVIL);
      expect(body, path).not.toContain(EVIL_ATTR);
      expect(body, path).not.toMatch(/<img/);
    }
    expect(await (await get('/clusters', bearer)).text()).toContain(escapeHtml(`payments${EVIL}`));
    expect(await (await get('/clusters/c-run', bearer)).text()).toContain(escapeHtml(`team=${EVIL_ATTR}`));
    expect(html`<a title="${EVIL_ATTR}">${EVIL}</a>`.value).toBe(
      '<a title="&quot;&gt;&lt;img src=x onerror=alert(2)&gt;">&lt;script&gt;alert(1)&lt;/script&gt;</a>',
    );
  });

  it('lists clusters with provider, region, agent version, a ticking LAST SEEN, activity, workloads and nodes', async () => {
    store.heartbeat({
      cluster_id: 'c-run',
      controller_name: 'ctl',
      profile: 'observer',
      namespace: '',
      last_seen_ms: T0,
    });
    now = T0 + 5_000;
    const body = await (await get('/clusters', bearer)).text();
    const row = /<tr data-cluster="demo-project\/us-central1">([\s\S]*?)<\/tr>/.exec(body)?.[1] ?? '';
    expect(row).toContain('Cloud Run');
    expect(row).toContain('us-central1');
    expect(row).toContain('9.9.9');
    expect(row).toContain(`data-seen-ms="${T0}">5s<`);
    expect(row).toMatch(/observer\s+<span class="seen" data-seen-ms="\d+">5s</);
    expect(row).toMatch(/<td>2<\/td>\s*<td>0<\/td>/);
    expect(body).toMatch(/<span class="badge ECS">ECS<\/span>[\s\S]*?<td>1<\/td>\s*<td>1<\/td>/);
    expect(body).toContain(`data-now-ms="${now}" data-refresh-ms="1500"`);
    expect(body).toContain('href="/clusters/c-run"');
  });

  it("shows a cluster's namespaces with labels and its live workloads by kind", async () => {
    const body = await (await get('/clusters/c-run', bearer)).text();
    expect(body).toMatch(/<span class="label">env=prod<\/span>/);
    expect(body).toMatch(/<h2>Deployment <span class="muted">\(1\)<\/span><\/h2>/);
    expect(body).toMatch(/<h2>ReplicaSet <span class="muted">\(1\)<\/span><\/h2>/);
    expect(body.indexOf('data-kind="Deployment"')).toBeLessThan(body.indexOf('data-kind="ReplicaSet"'));
    expect(body).toContain(`title="${digestOf(5)}"`);
    now = T0 + 12_000;
    store.heartbeat({
      cluster_id: 'c-run',
      controller_name: 'ctl',
      profile: 'observer',
      namespace: '',
      last_seen_ms: T0 + 10_000,
    });
    const later = await (await get('/clusters/c-run', bearer)).text();
    const deployment = /data-kind="Deployment"[\s\S]*?<\/table>/.exec(later)?.[0] ?? '';
    expect(deployment, 'a live workload is seen at every cluster poll').toContain(
      `data-seen-ms="${T0 + 10_000}">2s<`,
    );
    expect((await get('/clusters/nope', bearer)).status).toBe(404);
    expect((await get('/clusters/%E0%A4%A', bearer)).status).toBe(400);
  });

  it('lists images with digest, where they run, first and last seen, current before superseded', async () => {
    const body = await (await get('/images', bearer)).text();
    const rows = [...body.matchAll(/<tr class="(\w+)">([\s\S]*?)<\/tr>/g)].map((m) => ({
      state: m[1],
      row: m[2] ?? '',
    }));
    expect(rows.map((r) => r.state)).toEqual(['current', 'current', 'superseded']);
    const checkout = rows.find((r) => r.row.includes('shop/checkout:1.5.0'))?.row ?? '';
    expect(checkout).toContain(digestOf(5).slice(0, 19));
    expect(checkout).toContain('demo-project/us-central1');
    expect(checkout).toContain('us-central1/checkout');
    expect(checkout).toContain(
      new Date(T0)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replace('T', ' '),
    );
    const old = rows.find((r) => r.state === 'superseded')?.row ?? '';
    expect(old).toContain('shop/checkout:1.4.0');
    expect(old).toContain('pending-start');
  });

  it('searches image names and digests, and a refresh returns only the content', async () => {
    const byName = await (await get('/images?q=LEDGER', bearer)).text();
    expect(byName).toContain(escapeHtml(`ledger${EVIL}:3`));
    expect(byName).not.toContain('shop/checkout');
    const byDigest = await (await get(`/images?q=${digestOf(5).slice(7, 20)}`, bearer)).text();
    expect(byDigest).toContain('shop/checkout:1.5.0');
    expect(byDigest).not.toContain('ledger');
    expect(byDigest).toMatch(/name="q"\s+value="[0-9a-f]{13}"/);
    const fragment = await get('/images?q=checkout', { ...bearer, 'X-Sightline-Fragment': '1' });
    expect(fragment.headers.get('x-sightline-now-ms')).toBe(String(now));
    const text = await fragment.text();
    expect(text.trimStart()).toMatch(/^<h1>Images<\/h1>/);
    expect(text).not.toContain('<html');
    expect(text).not.toContain('name="q"');
  });
});

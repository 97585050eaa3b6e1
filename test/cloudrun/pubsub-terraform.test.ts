/**
 * The customer-side setup of pushed mode, as code: config/gcp-log-sink (Terraform, *.tf.json) and
 * config/iam/gcp-cloudrun-reader.json. The JSON parses and hangs together (every variable and
 * resource it references is declared), the sink's filter is the one the emulator's sink applies
 * and takes the real Cloud Run audit samples but not other logs, and every Pub/Sub RPC the adapter
 * calls (seen by the emulator in a pushed-mode run) needs a permission the listed roles grant.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CLOUD_RUN_SINK_FILTER, compileSinkFilter } from '../../adapters/cloudrun/sink-filter.js';
import type { JsonObject } from '../../adapters/cloudrun/json.js';
import { eventWorkload, repoRoot, samplesDir, sourcesOf, startHarness, watchSource } from './harness.js';

/** Conditions are waited for, never slept on; the bound only ends a broken run. */
const WAIT = { timeout: 20_000, interval: 10 };

const moduleDir = path.join(repoRoot, 'config', 'gcp-log-sink');
type Doc = Record<string, Record<string, unknown>>;
const files = readdirSync(moduleDir).filter((f) => f.endsWith('.tf.json'));
const docs = Object.fromEntries(
  files.map((f) => [f, JSON.parse(readFileSync(path.join(moduleDir, f), 'utf8')) as Doc]),
);
const main = docs['main.tf.json'] as Doc;
const resources = main['resource'] as Record<string, Record<string, Record<string, unknown>>>;
const iam = JSON.parse(
  readFileSync(path.join(repoRoot, 'config', 'iam', 'gcp-cloudrun-reader.json'), 'utf8'),
) as {
  grants: Array<{ role: string }>;
  rolePermissions: Record<string, string[]>;
  rpcPermissions: Record<string, string>;
};

const sample = (name: string) =>
  JSON.parse(readFileSync(path.join(samplesDir, 'cloudrun-audit', name), 'utf8')) as JsonObject;

describe('config/gcp-log-sink', () => {
  it('parses, and every variable, local and resource it references is declared', () => {
    expect(files.sort()).toEqual(['main.tf.json', 'outputs.tf.json', 'variables.tf.json']);
    const text = files.map((f) => JSON.stringify(docs[f])).join('\n');
    const declaredVars = new Set(Object.keys((docs['variables.tf.json'] as Doc)['variable'] ?? {}));
    for (const [, v] of text.matchAll(/var\.([a-z_]+)/g)) expect(declaredVars, `var.${v}`).toContain(v);
    const locals = new Set(Object.keys(main['locals'] ?? {}));
    for (const [, l] of text.matchAll(/local\.([a-z_]+)/g)) expect(locals, `local.${l}`).toContain(l);
    for (const [, type, name] of text.matchAll(/\b(google_[a-z_]+)\.([a-z_]+)(?=[.[])/g)) {
      if (type === 'google_project') continue;
      expect(Object.keys(resources[type as string] ?? {}), `${type}.${name}`).toContain(name);
    }
  });

  it('creates a sink per scope (folder and organization with includeChildren), a topic, a subscription with an ack deadline and a dead-letter topic', () => {
    const sinks = [
      'google_logging_project_sink',
      'google_logging_folder_sink',
      'google_logging_organization_sink',
    ];
    for (const s of sinks) {
      const sink = resources[s]?.['run_audit'] as Record<string, unknown>;
      expect(sink['filter']).toBe('${local.filter}');
      expect(sink['destination']).toBe('pubsub.googleapis.com/${google_pubsub_topic.run_audit.id}');
      if (s !== 'google_logging_project_sink') expect(sink['include_children']).toBe(true);
    }
    const sub = resources['google_pubsub_subscription']?.['sightline'] as Record<string, unknown>;
    expect(sub['ack_deadline_seconds']).toBe('${var.ack_deadline_seconds}');
    expect(sub['dead_letter_policy']).toEqual([
      {
        dead_letter_topic: '${google_pubsub_topic.dead_letter.id}',
        max_delivery_attempts: '${var.max_delivery_attempts}',
      },
    ]);
    const topicRoles = Object.values(resources['google_pubsub_topic_iam_member'] ?? {});
    expect(topicRoles).toContainEqual(
      expect.objectContaining({ role: 'roles/pubsub.publisher', member: '${local.writer_identity}' }),
    );
    const subRoles = Object.values(resources['google_pubsub_subscription_iam_member'] ?? {});
    for (const role of ['roles/pubsub.subscriber', 'roles/pubsub.viewer'])
      expect(subRoles).toContainEqual(expect.objectContaining({ role, member: '${var.reader_member}' }));
  });

  it('filters with the filter the emulator sink applies: Cloud Run activity and system events, nothing else', () => {
    expect((main['locals'] as Record<string, unknown>)['filter']).toBe(CLOUD_RUN_SINK_FILTER);
    const take = compileSinkFilter(CLOUD_RUN_SINK_FILTER);
    for (const f of ['CreateService-1.json', 'SystemEvent-ReadyCondition-1.json', 'SetIamPolicy-1.json'])
      expect(take(sample(f)), f).toBe(true);
    const create = sample('CreateService-1.json');
    const payload = create['protoPayload'] as JsonObject;
    const foreign: JsonObject[] = [
      { ...create, logName: 'projects/some-project/logs/cloudaudit.googleapis.com%2Fdata_access' },
      { ...create, logName: 'projects/some-project/logs/run.googleapis.com%2Frequests' },
      { ...create, protoPayload: { ...payload, serviceName: 'storage.googleapis.com' } },
      { logName: 'projects/some-project/logs/cloudaudit.googleapis.com%2Factivity', jsonPayload: {} },
    ];
    for (const e of foreign) expect(take(e), JSON.stringify(e).slice(0, 120)).toBe(false);
  });
});

describe('config/iam/gcp-cloudrun-reader.json', () => {
  it('grants a permission for every Pub/Sub RPC the adapter calls in pushed mode', async () => {
    const sub = 'projects/sink-host/subscriptions/sightline';
    const h = await startHarness({
      emulator: { logSink: { topic: 'projects/sink-host/topics/run-audit', subscription: sub } },
      config: {
        changeFeed: { source: 'pubsub', subscription: sub, silenceMs: 60_000, maxOutstandingMessages: 10 },
      },
    });
    try {
      const sources = await sourcesOf(h, 'proj-alpha');
      const log = await watchSource(sources);
      log.watches.forEach((w, i) =>
        w.events$.subscribe((e) => {
          if (e.type === 'BOOKMARK') sources[i]?.durable?.(e.cursor);
        }),
      );
      h.emu.fleet.deployService('proj-alpha', 'us-central1', 'web', 'gcr.io/p/web:1');
      await log.waitFor((e) => eventWorkload(e, 'run.googleapis.com/Service', 'web') !== undefined);
      await vi.waitFor(() => expect(h.emu.pubsub?.stats(sub).acked).toBe(2), WAIT);
      await log.stop();
    } finally {
      await h.close();
    }
    const called = h.emu.calls.names().filter((n) => n.startsWith('google.pubsub.'));
    expect(called).toEqual(
      expect.arrayContaining([
        'google.pubsub.v1.Subscriber/GetSubscription',
        'google.pubsub.v1.Subscriber/StreamingPull',
      ]),
    );
    const granted = new Set(iam.grants.flatMap((g) => iam.rolePermissions[g.role] ?? []));
    for (const rpc of [...called, ...Object.keys(iam.rpcPermissions)]) {
      const permission = iam.rpcPermissions[rpc];
      expect(permission, rpc).toBeDefined();
      expect(granted, `${rpc} needs ${permission}`).toContain(permission);
    }
  });
});

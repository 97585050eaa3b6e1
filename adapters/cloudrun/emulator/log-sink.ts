/**
 * The emulator's Log Router sink: every entry the Cloud Run emulator writes to its log store that
 * the sink's filter takes (default: CLOUD_RUN_SINK_FILTER, the one config/gcp-log-sink installs) is
 * published to the topic as Cloud Logging exports it: the LogEntry as JSON, `protoPayload` as JSON
 * with its `@type` (UTF-8 bytes in `data`, no attributes that matter). `projects` limits the sink
 * to some projects (a project sink); absent, it sees every project (an organization sink with
 * includeChildren). The broker's knobs then apply (delay, duplicates, reordering, loss, outage).
 * Entries that do not decode are not published (Cloud Logging would not have stored them).
 */
import type { JsonObject } from '../json.js';
import { logEntryToJson } from '../log-entry.js';
import { CLOUD_RUN_SINK_FILTER, compileSinkFilter } from '../sink-filter.js';
import type { LogStore, StoredEntry } from './log-store.js';
import type { PubsubBroker } from './pubsub-broker.js';

export interface LogSinkOptions {
  topic: string;
  filter?: string;
  projects?: readonly string[];
}

/** The JSON form Cloud Logging exports for a stored entry. */
export function exportedJson(e: StoredEntry): JsonObject {
  const w = e.wire;
  const json = logEntryToJson({
    insertId: w['insert_id'],
    logName: w['log_name'],
    timestamp: w['timestamp'],
    receiveTimestamp: w['receive_timestamp'],
    resource: w['resource'],
    operation: w['operation'],
    protoPayload: w['proto_payload'],
  });
  if (typeof w['severity'] === 'string') json['severity'] = w['severity'];
  return json;
}

/** Starts publishing; returns the stop function. */
export function startLogSink(store: LogStore, broker: PubsubBroker, options: LogSinkOptions): () => void {
  const take = compileSinkFilter(options.filter ?? CLOUD_RUN_SINK_FILTER);
  const projects = options.projects === undefined ? undefined : new Set(options.projects);
  broker.createTopic(options.topic);
  return store.subscribe((e) => {
    if (projects !== undefined && !projects.has(e.project)) return;
    let json: JsonObject;
    try {
      json = exportedJson(e);
    } catch {
      return;
    }
    if (!take(json)) return;
    broker.publish(options.topic, Buffer.from(JSON.stringify(json), 'utf8'), {
      'logging.googleapis.com/timestamp': typeof json['timestamp'] === 'string' ? json['timestamp'] : '',
    });
  });
}

/**
 * Loads proto/sightline/agent/v1/agent.proto at runtime with @grpc/proto-loader (no codegen). The
 * file is found by walking up from this module, so it works from src/ (tsx) and from dist/src/
 * (compiled). Loader options fix the JS shape the hand-written wire types describe: snake_case
 * field names, int64 as number, enums as strings, defaults filled in, oneof name in `change`.
 *
 * Failure: throws a clear error naming the searched paths when the proto file is missing.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO_RELATIVE_PATH = join('proto', 'sightline', 'agent', 'v1', 'agent.proto');
const AGENT_SERVICE = 'sightline.agent.v1.AgentService';
const QUERY_SERVICE = 'sightline.agent.v1.ConsoleQuery';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

function findProtoFile(): string {
  const tried: string[] = [];
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, PROTO_RELATIVE_PATH);
    tried.push(candidate);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`agent.proto not found; looked in: ${tried.join(', ')}`);
}

let cached: protoLoader.PackageDefinition | undefined;

/** agent.proto, loaded once; throws when the file is missing (the image check calls it). */
export function packageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(findProtoFile(), LOADER_OPTIONS);
  return cached;
}

/** Service definitions for a grpc.Server. */
export function serviceDefinitions(): { agent: grpc.ServiceDefinition; query: grpc.ServiceDefinition } {
  const def = packageDefinition();
  return {
    agent: def[AGENT_SERVICE] as grpc.ServiceDefinition,
    query: def[QUERY_SERVICE] as grpc.ServiceDefinition,
  };
}

/** Serializes a request as it goes on the wire (for measuring bytes per sighting). */
export function serializeRequest(service: 'agent' | 'query', method: string, value: unknown): Buffer {
  const defs = serviceDefinitions();
  const m = defs[service][method];
  if (m === undefined) throw new Error(`unknown method ${method}`);
  return m.requestSerialize(value);
}

/**
 * gRPC channel credentials and options for talking to a console: TLS by default (system roots or a
 * CA file, optional server-name override), plaintext only when asked for explicitly. Keepalive is
 * on; replies are capped in size so a hostile console cannot make the agent buffer huge messages.
 *
 * Failure: an unreadable CA file throws an Error naming the file.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { ChannelOptions } from '@grpc/grpc-js';
import { consoleTlsCredentials } from './tls-credentials.js';

interface ChannelSecurity {
  plaintext: boolean;
  caFile?: string;
  serverName?: string;
}

const KEEPALIVE_TIME_MS = 60_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;

export function channelCredentials(sec: ChannelSecurity): grpc.ChannelCredentials {
  if (sec.plaintext) return grpc.credentials.createInsecure();
  if (sec.caFile === undefined) return consoleTlsCredentials();
  let ca: Buffer;
  try {
    ca = readFileSync(sec.caFile);
  } catch (err) {
    throw new Error(
      `cannot read console CA file ${sec.caFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      {
        cause: err,
      },
    );
  }
  return consoleTlsCredentials(ca);
}

export function channelOptions(sec: ChannelSecurity, maxReplyBytes: number): ChannelOptions {
  const opts: ChannelOptions = {
    'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
    'grpc.max_receive_message_length': maxReplyBytes,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  };
  if (!sec.plaintext && sec.serverName !== undefined) {
    opts['grpc.ssl_target_name_override'] = sec.serverName;
    opts['grpc.default_authority'] = sec.serverName;
  }
  return opts;
}

/** Unary call with a deadline and bearer token; resolves with the raw decoded reply. */
export function unaryCall(
  client: grpc.Client,
  def: grpc.MethodDefinition<unknown, unknown>,
  request: unknown,
  token: string | undefined,
  deadlineMs: number,
  onCall?: (call: grpc.ClientUnaryCall) => void,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const md = new grpc.Metadata();
    if (token !== undefined) {
      try {
        md.set('authorization', `Bearer ${token}`);
      } catch {
        // grpc-js's message quotes the value: build our own, without the token (TokenFile checks
        // the characters first, so this only guards a token that bypassed it).
        reject(
          new Error('the console token has characters gRPC metadata cannot carry (printable ASCII only)'),
        );
        return;
      }
    }
    const call = client.makeUnaryRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      request,
      md,
      { deadline: new Date(Date.now() + deadlineMs) },
      (err, value) => {
        if (err) reject(err);
        else resolve(value);
      },
    );
    onCall?.(call);
  });
}

/**
 * Helpers shared by the emulator's gRPC servers: registering every method of a service (methods
 * not implemented answer UNIMPLEMENTED, and are still recorded), fault injection, and paging.
 * A denied permission (Faults.denyPermission) is answered as GCP does: PERMISSION_DENIED with
 * "Permission 'run.workerpools.list' denied on resource 'projects/p/locations/r' (or resource may
 * not exist)." and, unless turned off, a google.rpc.Status in `grpc-status-details-bin` holding a
 * google.rpc.ErrorInfo { reason IAM_PERMISSION_DENIED, domain iam.googleapis.com,
 * metadata { permission, resource } } (encoded here by hand: no protobuf dependency).
 */
import { Metadata, ServerCredentials, status as GrpcStatus } from '@grpc/grpc-js';
import type { Server } from '@grpc/grpc-js';
import type {
  ServerUnaryCall,
  ServiceDefinition,
  UntypedServiceImplementation,
  sendUnaryData,
} from '@grpc/grpc-js';
import type { CallLog, Faults } from './faults.js';

export type Wire = Record<string, unknown>;

export class RpcError extends Error {
  constructor(
    readonly code: GrpcStatus,
    message: string,
  ) {
    super(message);
  }
}

export type UnaryHandler = (req: Wire) => Wire | Promise<Wire>;

/** Adds `def` to `server`; `handlers` maps method names (e.g. `ListServices`) to implementations. */
export function addService(
  server: Server,
  serviceName: string,
  def: ServiceDefinition,
  handlers: Record<string, UnaryHandler>,
  calls: CallLog,
  faults: Faults,
  streaming: UntypedServiceImplementation = {},
): void {
  const impl: UntypedServiceImplementation = {};
  for (const method of Object.keys(def)) {
    const rpc = `${serviceName}/${method}`;
    const stream = streaming[method];
    if (stream) {
      impl[method] = stream;
      continue;
    }
    impl[method] = (call: ServerUnaryCall<Wire, Wire>, callback: sendUnaryData<Wire>) => {
      calls.record(rpc);
      const denied = faults.deniedPermission(rpc);
      if (denied) {
        const req = call.request;
        const named = typeof req['parent'] === 'string' ? req['parent'] : req['name'];
        const resource = typeof named === 'string' ? named : '';
        const details =
          `Permission '${denied.permission}' denied on resource '${resource}' ` +
          '(or resource may not exist).';
        const metadata = new Metadata();
        if (denied.errorInfo)
          metadata.set(
            'grpc-status-details-bin',
            statusDetailsBin(GrpcStatus.PERMISSION_DENIED, details, {
              reason: 'IAM_PERMISSION_DENIED',
              domain: 'iam.googleapis.com',
              metadata: { permission: denied.permission, resource },
            }),
          );
        callback({ code: GrpcStatus.PERMISSION_DENIED, details, metadata });
        return;
      }
      const injected = faults.take(rpc);
      if (injected) {
        callback({ code: injected.code, details: injected.message });
        return;
      }
      const handler = handlers[method];
      if (!handler) {
        callback({ code: GrpcStatus.UNIMPLEMENTED, details: `${rpc} is not implemented by the emulator` });
        return;
      }
      const slow = method.startsWith('List') ? faults.slowPageMs : 0;
      const run = (): void => {
        Promise.resolve()
          .then(() => handler(call.request))
          .then(
            (res) => callback(null, res),
            (err: unknown) => {
              if (err instanceof RpcError) callback({ code: err.code, details: err.message });
              else callback({ code: GrpcStatus.INTERNAL, details: String(err) });
            },
          );
      };
      if (slow > 0) setTimeout(run, slow);
      else run();
    };
  }
  server.addService(def, impl);
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** One page of `items` (already in order): page token = base64 offset. */
export function page<T>(items: T[], req: Wire, maxPageSize = MAX_PAGE_SIZE): { items: T[]; next: string } {
  const requested =
    typeof req['page_size'] === 'number' && req['page_size'] > 0 ? req['page_size'] : DEFAULT_PAGE_SIZE;
  const size = Math.min(requested, maxPageSize);
  const token = typeof req['page_token'] === 'string' ? req['page_token'] : '';
  let offset = 0;
  if (token !== '') {
    offset = Number(Buffer.from(token, 'base64').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0)
      throw new RpcError(GrpcStatus.INVALID_ARGUMENT, 'invalid page_token');
  }
  const slice = items.slice(offset, offset + size);
  const nextOffset = offset + size;
  return {
    items: slice,
    next: nextOffset < items.length ? Buffer.from(String(nextOffset)).toString('base64') : '',
  };
}

export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
      if (err) reject(err);
      else resolve(port);
    });
  });
}

export function shutdown(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.tryShutdown(() => resolve());
    setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 500).unref();
  });
}

// ---- google.rpc.Status with one ErrorInfo, protobuf wire format ------------------------------

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

/** A length-delimited field (wire type 2). */
function bytesField(field: number, value: Buffer | string): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([varint((field << 3) | 2), varint(b.length), b]);
}

/** google.rpc.Status { code = 1; message = 2; details = 3 (Any) } with one google.rpc.ErrorInfo. */
export function statusDetailsBin(
  code: number,
  message: string,
  info: { reason: string; domain: string; metadata: Record<string, string> },
): Buffer {
  const entries = Object.entries(info.metadata).map(([k, v]) =>
    bytesField(3, Buffer.concat([bytesField(1, k), bytesField(2, v)])),
  );
  const errorInfo = Buffer.concat([bytesField(1, info.reason), bytesField(2, info.domain), ...entries]);
  const any = Buffer.concat([
    bytesField(1, 'type.googleapis.com/google.rpc.ErrorInfo'),
    bytesField(2, errorInfo),
  ]);
  return Buffer.concat([varint(1 << 3), varint(code), bytesField(2, message), bytesField(3, any)]);
}

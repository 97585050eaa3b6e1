/**
 * A loopback SQS emulator speaking the AWS JSON 1.0 protocol that @aws-sdk/client-sqs v3 uses:
 * POST with `x-amz-target: AmazonSQS.<Op>` (ReceiveMessage, DeleteMessage, DeleteMessageBatch,
 * ChangeMessageVisibility(Batch), GetQueueAttributes, GetQueueUrl, SendMessage(Batch)), the queue
 * named by the last path segment of `QueueUrl`. Errors are `{__type, message}` with the
 * `x-amzn-query-error` header, as SQS sends them, so the SDK names them (`QueueDoesNotExist`).
 *
 * Promises, as SQS: a long poll (`WaitTimeSeconds`) is answered as soon as a message is visible,
 * else empty at its end (capped by `maxWaitMs`, real time: the SDK's socket waits in real time);
 * a received message is invisible for the visibility timeout, then received again with
 * `ApproximateReceiveCount` + 1; a message received more than `maxReceiveCount` times moves to
 * the dead-letter queue; a delete with a stale receipt handle succeeds but deletes nothing;
 * `MD5OfBody` / `MD5OfMessageBody` are the real MD5s (the SDK checks them). Visibility and delays
 * use the injected clock `now` (tests advance it, then `wake()` re-checks waiting polls).
 *
 * Knobs (`knobs`, changeable at any time): `delayMs` before a sent message is visible,
 * `duplicateRate` (a sent message is enqueued twice, as EventBridge may deliver twice),
 * `reorder` (a receive takes visible messages in random order), `lossRate` (a sent message is
 * dropped), `outage` (every call answers 503 ServiceUnavailable), `holdDeletes` (DeleteMessage and
 * DeleteMessageBatch calls are held: never applied and never answered, as if the reader died after
 * sending them; `heldDeletes` lists the ids of the messages they named, so a test can kill the reader
 * between receive and delete). `random` is injectable. `hooks.received` is called with the messages
 * a ReceiveMessage takes, before its reply is written, `hooks.deleting` with the ids a delete names
 * when it arrives (a test may kill the reader in either).
 */
import { createHash, randomUUID } from 'node:crypto';
import { header, jsonObjectBody, listenLoopback, readBody } from './http.js';
import type { IncomingMessage, ServerResponse } from 'node:http';

const SQS_PREFIX = 'AmazonSQS.';
const RECEIVE_MAX_MESSAGES = 10;
const DEFAULT_VISIBILITY_TIMEOUT_MS = 30_000;
const LONG_POLL_CHECK_MS = 10;
const DEFAULT_MAX_WAIT_MS = 20_000;

export interface SqsKnobs {
  delayMs: number;
  duplicateRate: number;
  reorder: boolean;
  lossRate: number;
  outage: boolean;
  holdDeletes: boolean;
}

/** A received message as `hooks.received` sees it. */
export interface ReceivedMessage {
  id: string;
  body: string;
  receiveCount: number;
}

export interface SqsHooks {
  /** Called with the messages a ReceiveMessage takes, before the reply is written. */
  received?: (messages: readonly ReceivedMessage[]) => void;
  /** Called with the ids of the messages a DeleteMessage(Batch) names, before it is applied or held. */
  deleting?: (messageIds: readonly string[]) => void;
}

export interface SqsEmulatorOptions {
  account?: string;
  region?: string;
  /** Clock of visibility timeouts and delays (default Date.now). */
  now?: () => number;
  random?: () => number;
  /** Caps every long poll (real ms; default 20 s as SQS). */
  maxWaitMs?: number;
  knobs?: Partial<SqsKnobs>;
}

interface EmuMessage {
  id: string;
  body: string;
  md5: string;
  sentMs: number;
  visibleAtMs: number;
  receiveCount: number;
  firstReceiveMs: number | undefined;
  /** The latest receipt handle; older ones delete nothing. */
  handle: string | undefined;
}

export interface QueueOptions {
  visibilityTimeoutMs?: number;
  /** Redrive: after this many receives a message moves to `deadLetterQueue`. */
  maxReceiveCount?: number;
  deadLetterQueue?: string;
}

export class EmuQueue {
  readonly messages: EmuMessage[] = [];
  constructor(
    readonly name: string,
    readonly url: string,
    readonly arn: string,
    readonly options: QueueOptions,
  ) {}
  get visibilityTimeoutMs(): number {
    return this.options.visibilityTimeoutMs ?? DEFAULT_VISIBILITY_TIMEOUT_MS;
  }
}

/** Per-operation call counts. */
export class SqsCalls {
  private readonly counts = new Map<string, number>();
  readonly actionsSeen = new Set<string>();
  count(action: string): void {
    this.actionsSeen.add(action);
    this.counts.set(action, (this.counts.get(action) ?? 0) + 1);
  }
  get(action: string): number {
    return this.counts.get(action) ?? 0;
  }
  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
  reset(): void {
    this.counts.clear();
  }
}

class SqsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    readonly queryCode = type,
  ) {
    super(message);
  }
}

/** What SQS answers for a queue that does not exist. */
function noSuchQueue(): SqsError {
  return new SqsError(
    'QueueDoesNotExist',
    'The specified queue does not exist.',
    400,
    'AWS.SimpleQueueService.NonExistentQueue',
  );
}

export function md5Hex(s: string): string {
  return createHash('md5').update(s, 'utf8').digest('hex');
}

export interface SqsEmulator {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  knobs: SqsKnobs;
  calls: SqsCalls;
  hooks: SqsHooks;
  /** Ids of the messages named by deletes held while `knobs.holdDeletes` was on (never applied). */
  heldDeletes: string[];
  createQueue(name: string, options?: QueueOptions): EmuQueue;
  queue(name: string): EmuQueue | undefined;
  /** Enqueues `body` as EventBridge or SNS would (subject to the knobs). */
  send(queueName: string, body: string): void;
  /** Re-checks waiting long polls (after the injected clock moved). */
  wake(): void;
  stop(): Promise<void>;
}

export async function startSqsEmulator(options: SqsEmulatorOptions = {}): Promise<SqsEmulator> {
  const account = options.account ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const now = options.now ?? (() => Date.now());
  const random = options.random ?? Math.random;
  const maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const knobs: SqsKnobs = {
    delayMs: 0,
    duplicateRate: 0,
    reorder: false,
    lossRate: 0,
    outage: false,
    holdDeletes: false,
    ...options.knobs,
  };
  const calls = new SqsCalls();
  const hooks: SqsHooks = {};
  const heldDeletes: string[] = [];

  const queues = new Map<string, EmuQueue>();
  const waiters = new Set<() => void>();
  let endpoint = '';
  let handleSeq = 0;

  const wake = (): void => {
    for (const w of [...waiters]) w();
  };

  const enqueue = (q: EmuQueue, body: string, delayMs: number): EmuMessage => {
    const t = now();
    const m: EmuMessage = {
      id: randomUUID(),
      body,
      md5: md5Hex(body),
      sentMs: t,
      visibleAtMs: t + delayMs,
      receiveCount: 0,
      firstReceiveMs: undefined,
      handle: undefined,
    };
    q.messages.push(m);
    return m;
  };

  const queueOf = (input: Record<string, unknown>): EmuQueue => {
    const url = input['QueueUrl'];
    if (typeof url !== 'string' || url === '')
      throw new SqsError('InvalidAddress', 'QueueUrl is required', 400, 'InvalidAddress');
    const name = url.slice(url.lastIndexOf('/') + 1);
    const q = queues.get(name);
    if (!q) throw noSuchQueue();
    return q;
  };

  /** Moves messages received too often to the DLQ; returns the visible ones. */
  const visible = (q: EmuQueue): EmuMessage[] => {
    const t = now();
    const max = q.options.maxReceiveCount;
    const dlq = q.options.deadLetterQueue !== undefined ? queues.get(q.options.deadLetterQueue) : undefined;
    const out: EmuMessage[] = [];
    for (let i = 0; i < q.messages.length; i++) {
      const m = q.messages[i];
      if (m === undefined || m.visibleAtMs > t) continue;
      if (max !== undefined && dlq !== undefined && m.receiveCount >= max) {
        q.messages.splice(i--, 1);
        dlq.messages.push({ ...m, receiveCount: 0, handle: undefined, visibleAtMs: t });
        continue;
      }
      out.push(m);
    }
    return out;
  };

  const takeVisible = (q: EmuQueue, max: number, visibilityMs: number): Record<string, unknown>[] => {
    let ready = visible(q);
    if (knobs.reorder) ready = shuffle(ready, random);
    const t = now();
    const taken = ready.slice(0, max);
    if (taken.length > 0)
      hooks.received?.(taken.map((m) => ({ id: m.id, body: m.body, receiveCount: m.receiveCount + 1 })));
    return taken.map((m) => {
      m.receiveCount++;
      m.firstReceiveMs ??= t;
      m.visibleAtMs = t + visibilityMs;
      m.handle = `${m.id}#${++handleSeq}`;
      return {
        MessageId: m.id,
        ReceiptHandle: m.handle,
        MD5OfBody: m.md5,
        Body: m.body,
        Attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: String(m.sentMs),
          ApproximateFirstReceiveTimestamp: String(m.firstReceiveMs),
        },
      };
    });
  };

  const receive = async (
    input: Record<string, unknown>,
    gone: () => boolean,
  ): Promise<Record<string, unknown>> => {
    const q = queueOf(input);
    const max = Math.min(RECEIVE_MAX_MESSAGES, num(input['MaxNumberOfMessages']) ?? 1);
    const visibilityMs = (num(input['VisibilityTimeout']) ?? q.visibilityTimeoutMs / 1000) * 1000;
    const waitMs = Math.min(maxWaitMs, (num(input['WaitTimeSeconds']) ?? 0) * 1000);
    const deadline = Date.now() + waitMs;
    for (;;) {
      // A caller that hung up (an aborted long poll) takes nothing.
      if (gone()) return {};
      const got = takeVisible(q, max, visibilityMs);
      if (got.length > 0 || Date.now() >= deadline) return got.length > 0 ? { Messages: got } : {};
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(LONG_POLL_CHECK_MS, Math.max(0, deadline - Date.now())));
        waiters.add(done);
      });
    }
  };

  const deleteOne = (q: EmuQueue, handle: unknown): void => {
    if (typeof handle !== 'string')
      throw new SqsError('ReceiptHandleIsInvalid', 'The receipt handle is not valid.');
    const i = q.messages.findIndex((m) => m.handle === handle);
    // A stale handle (the message was received again since) succeeds and deletes nothing.
    if (i >= 0) q.messages.splice(i, 1);
  };

  /**
   * Tells `hooks.deleting`; while `knobs.holdDeletes`, records the messages the delete names and
   * returns a reply that never comes.
   */
  const holdDelete = (q: EmuQueue, handles: unknown[]): Promise<Record<string, unknown>> | undefined => {
    const ids: string[] = [];
    for (const h of handles) {
      const m = q.messages.find((x) => x.handle === h);
      if (m) ids.push(m.id);
    }
    hooks.deleting?.(ids);
    if (!knobs.holdDeletes) return undefined;
    heldDeletes.push(...ids);
    // Never settles: the connection ends unanswered (the reader dies, or the server stops).
    return new Promise<Record<string, unknown>>(() => undefined);
  };

  const changeVisibility = (q: EmuQueue, handle: unknown, seconds: unknown): void => {
    const m = q.messages.find((x) => x.handle === handle);
    if (!m) throw new SqsError('MessageNotInflight', 'The message is not in flight.');
    m.visibleAtMs = now() + (num(seconds) ?? 0) * 1000;
    wake();
  };

  const batch = (
    entries: unknown,
    each: (e: Record<string, unknown>) => Record<string, unknown>,
  ): Record<string, unknown> => {
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > RECEIVE_MAX_MESSAGES)
      throw new SqsError('EmptyBatchRequest', 'A batch holds 1 to 10 entries.');
    const Successful: Record<string, unknown>[] = [];
    const Failed: Record<string, unknown>[] = [];
    for (const raw of entries) {
      const e = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
      try {
        Successful.push({ Id: e['Id'], ...each(e) });
      } catch (err) {
        const se = err instanceof SqsError ? err : new SqsError('InternalError', 'internal error');
        Failed.push({ Id: e['Id'], SenderFault: true, Code: se.type, Message: se.message });
      }
    }
    return { Successful, Failed };
  };

  const sendBody = (q: EmuQueue, body: unknown, delaySeconds: unknown): EmuMessage => {
    if (typeof body !== 'string' || body === '')
      throw new SqsError('InvalidParameterValue', 'MessageBody is required');
    return enqueue(q, body, (num(delaySeconds) ?? 0) * 1000);
  };

  const handlers: Record<
    string,
    (input: Record<string, unknown>, gone: () => boolean) => Promise<Record<string, unknown>>
  > = {
    ReceiveMessage: receive,
    DeleteMessage: (input) => {
      const q = queueOf(input);
      const held = holdDelete(q, [input['ReceiptHandle']]);
      if (held) return held;
      deleteOne(q, input['ReceiptHandle']);
      return Promise.resolve({});
    },
    DeleteMessageBatch: (input) => {
      const q = queueOf(input);
      const entries = Array.isArray(input['Entries']) ? (input['Entries'] as unknown[]) : [];
      const held = holdDelete(
        q,
        entries.map((e) =>
          e !== null && typeof e === 'object' ? (e as Record<string, unknown>)['ReceiptHandle'] : undefined,
        ),
      );
      if (held) return held;
      return Promise.resolve(
        batch(input['Entries'], (e) => {
          deleteOne(q, e['ReceiptHandle']);
          return {};
        }),
      );
    },
    ChangeMessageVisibility: (input) => {
      changeVisibility(queueOf(input), input['ReceiptHandle'], input['VisibilityTimeout']);
      return Promise.resolve({});
    },
    ChangeMessageVisibilityBatch: (input) => {
      const q = queueOf(input);
      return Promise.resolve(
        batch(input['Entries'], (e) => {
          changeVisibility(q, e['ReceiptHandle'], e['VisibilityTimeout']);
          return {};
        }),
      );
    },
    GetQueueUrl: (input) => {
      const q = queues.get(String(input['QueueName']));
      if (!q) throw noSuchQueue();
      return Promise.resolve({ QueueUrl: q.url });
    },
    GetQueueAttributes: (input) => {
      const q = queueOf(input);
      const t = now();
      const inFlight = q.messages.filter((m) => m.visibleAtMs > t && m.receiveCount > 0).length;
      const attrs: Record<string, string> = {
        QueueArn: q.arn,
        ApproximateNumberOfMessages: String(visible(q).length),
        ApproximateNumberOfMessagesNotVisible: String(inFlight),
        VisibilityTimeout: String(q.visibilityTimeoutMs / 1000),
      };
      if (q.options.deadLetterQueue !== undefined && q.options.maxReceiveCount !== undefined) {
        const dlq = queues.get(q.options.deadLetterQueue);
        attrs['RedrivePolicy'] = JSON.stringify({
          deadLetterTargetArn: dlq?.arn,
          maxReceiveCount: q.options.maxReceiveCount,
        });
      }
      return Promise.resolve({ Attributes: attrs });
    },
    SendMessage: (input) => {
      const m = sendBody(queueOf(input), input['MessageBody'], input['DelaySeconds']);
      wake();
      return Promise.resolve({ MessageId: m.id, MD5OfMessageBody: m.md5 });
    },
    SendMessageBatch: (input) => {
      const q = queueOf(input);
      const out = batch(input['Entries'], (e) => {
        const m = sendBody(q, e['MessageBody'], e['DelaySeconds']);
        return { MessageId: m.id, MD5OfMessageBody: m.md5 };
      });
      wake();
      return Promise.resolve(out);
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    let hungUp = false;
    res.on('close', () => {
      hungUp = true;
    });
    const target = header(req, 'x-amz-target') ?? '';
    const action = target.startsWith(SQS_PREFIX) ? target.slice(SQS_PREFIX.length) : target;
    const reply = (status: number, payload: unknown, extra: Record<string, string> = {}): void => {
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': randomUUID(),
        ...extra,
      });
      res.end(JSON.stringify(payload));
    };
    const fail = (err: SqsError): void =>
      reply(
        err.status,
        { __type: `com.amazonaws.sqs#${err.type}`, message: err.message },
        { 'x-amzn-query-error': `${err.queryCode};${err.status >= 500 ? 'Receiver' : 'Sender'}` },
      );
    calls.count(action);
    if (knobs.outage) {
      fail(new SqsError('ServiceUnavailable', 'Service is unavailable.', 503));
      return;
    }
    const handler = handlers[action];
    if (!handler) {
      fail(new SqsError('UnsupportedOperation', `Unknown operation ${target}`));
      return;
    }
    const input = jsonObjectBody(body);
    if (input === undefined) {
      fail(new SqsError('InvalidParameterValue', 'Request body is not JSON'));
      return;
    }
    try {
      reply(200, await handler(input, () => hungUp || res.writableEnded));
    } catch (err) {
      fail(err instanceof SqsError ? err : new SqsError('InternalError', 'Internal error', 500));
    }
  };

  const server = await listenLoopback(handle, {
    contentType: 'application/x-amz-json-1.0',
    body: { __type: 'com.amazonaws.sqs#InternalError', message: 'Internal error' },
  });
  endpoint = server.endpoint;

  return {
    endpoint,
    knobs,
    calls,
    hooks,
    heldDeletes,
    createQueue(name, qOptions = {}) {
      const existing = queues.get(name);
      if (existing) return existing;
      const q = new EmuQueue(
        name,
        `${endpoint}/${account}/${name}`,
        `arn:aws:sqs:${region}:${account}:${name}`,
        qOptions,
      );
      queues.set(name, q);
      return q;
    },
    queue: (name) => queues.get(name),
    send(queueName, body) {
      const q = queues.get(queueName);
      if (!q || random() < knobs.lossRate) return;
      enqueue(q, body, knobs.delayMs);
      if (knobs.duplicateRate > 0 && random() < knobs.duplicateRate) enqueue(q, body, knobs.delayMs);
      wake();
    },
    wake,
    stop: () => {
      wake();
      return server.stop();
    },
  };
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}

/**
 * The SQS emulator through the real @aws-sdk/client-sqs: long poll answered early, visibility
 * timeout and redelivery with ApproximateReceiveCount, redrive to the DLQ, stale receipt handles,
 * MD5 checks the SDK makes, errors the SDK names, and the outage knob. Clock injected, no sleeps.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSqsEmulator } from '../../adapters/aws/emulator/sqs.js';
import type { SqsEmulator } from '../../adapters/aws/emulator/sqs.js';

let clockMs = Date.UTC(2026, 11, 3, 8, 0, 0);
let emu: SqsEmulator;
let client: SQSClient;
let url: string;

beforeEach(async () => {
  emu = await startSqsEmulator({ now: () => clockMs, maxWaitMs: 200 });
  emu.createQueue('dlq');
  url = emu.createQueue('events', {
    visibilityTimeoutMs: 30_000,
    maxReceiveCount: 2,
    deadLetterQueue: 'dlq',
  }).url;
  client = new SQSClient({
    region: 'us-east-1',
    endpoint: emu.endpoint,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
});

afterEach(async () => {
  client.destroy();
  await emu.stop();
});

const receive = (wait = 0) =>
  client.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: wait,
      MessageSystemAttributeNames: ['All'],
    }),
  );

describe('SQS emulator through the real SDK', () => {
  it('answers a long poll as soon as a message arrives, with a body the SDK checks by MD5', async () => {
    const pending = client.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 }),
    );
    const sent = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"a":1}' }));
    const out = await pending;
    expect(out.Messages?.map((m) => m.Body)).toEqual(['{"a":1}']);
    expect(out.Messages?.[0]?.MessageId).toBe(sent.MessageId);
  });

  it('redelivers after the visibility timeout with a higher receive count, then redrives to the DLQ', async () => {
    emu.send('events', 'x');
    const first = await receive();
    expect(first.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect((await receive()).Messages).toBeUndefined();
    clockMs += 30_000;
    const second = await receive();
    expect(second.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
    // The first receipt handle is stale: the delete succeeds and deletes nothing.
    const stale = first.Messages?.[0]?.ReceiptHandle ?? '';
    await client.send(
      new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: '0', ReceiptHandle: stale }] }),
    );
    clockMs += 30_000;
    expect((await receive()).Messages).toBeUndefined();
    expect(emu.queue('dlq')?.messages.map((m) => m.body)).toEqual(['x']);
  });

  it('deletes with the current handle and releases a message at visibility 0', async () => {
    emu.send('events', 'a');
    emu.send('events', 'b');
    const got = (await receive()).Messages ?? [];
    expect(got).toHaveLength(2);
    const [a, b] = got;
    await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [{ Id: '0', ReceiptHandle: a?.ReceiptHandle ?? '' }],
      }),
    );
    await client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: [{ Id: '0', ReceiptHandle: b?.ReceiptHandle ?? '', VisibilityTimeout: 0 }],
      }),
    );
    expect((await receive()).Messages?.map((m) => m.Body)).toEqual(['b']);
    const attrs = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
    );
    expect(attrs.Attributes?.QueueArn).toBe('arn:aws:sqs:us-east-1:123456789012:events');
  });

  it('names errors for the SDK and answers 503 during an outage', async () => {
    await expect(
      client.send(new ReceiveMessageCommand({ QueueUrl: `${emu.endpoint}/123456789012/nope` })),
    ).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
    emu.knobs.outage = true;
    await expect(receive()).rejects.toMatchObject({ $metadata: { httpStatusCode: 503 } });
  });

  it('duplicates and drops sent messages by its knobs', async () => {
    emu.knobs.duplicateRate = 1;
    emu.send('events', 'twice');
    emu.knobs.duplicateRate = 0;
    emu.knobs.lossRate = 1;
    emu.send('events', 'lost');
    expect((await receive()).Messages?.map((m) => m.Body)).toEqual(['twice', 'twice']);
  });
});

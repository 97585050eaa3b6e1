/**
 * The emulator's Pub/Sub broker: topics, subscriptions (each gets every message published to its
 * topic after it was created), and per subscription the messages ready for delivery and the ones
 * outstanding (delivered, not acked) with their ack deadline. At least once, as Pub/Sub promises:
 * - a message is delivered to one attached puller with room (its `maxOutstanding`, 0 = no limit);
 * - an outstanding message whose deadline passes (its puller gone or silent) is delivered again,
 *   with a new ack id and `deliveryAttempt` + 1; `modifyAckDeadline(…, 0)` (a nack) does so at once;
 * - `ack` removes it for good; an ack id that is unknown or expired is ignored (as Pub/Sub does).
 * Knobs (`knobs`, set any time): `delayMs` before a published message becomes deliverable,
 * `duplicateRate` (the message is also delivered a second time, as a separate delivery),
 * `reorderRate` (held back until the next message of the subscription went first), `lossRate`
 * (never delivered: the sink's loss), `outage` (StreamingPull refused with UNAVAILABLE and open
 * streams cut; publishing still works and messages wait), `holdAcks` (acks are not applied, as if
 * the subscriber died before sending them; `heldAcks` lists the message ids they named, so a test can
 * kill the subscriber between delivery and ack). `hooks.delivered` is called with each batch before it
 * is handed to its puller, `hooks.acking` with the message ids of each ack as it arrives (a test may
 * kill the subscriber in either). Time comes from the injected scheduler,
 * randomness from the injected `random`. Never throws on bad ack ids; unknown names throw
 * `BrokerError` (NOT_FOUND).
 */
import { asyncScheduler } from 'rxjs';
import type { SchedulerLike, Subscription as RxSubscription } from 'rxjs';

export interface BrokerKnobs {
  delayMs: number;
  duplicateRate: number;
  reorderRate: number;
  lossRate: number;
  outage: boolean;
  holdAcks: boolean;
}

export interface BrokerHooks {
  /** Called with each batch before it is handed to its puller. */
  delivered?: (batch: readonly Delivery[]) => void;
  /** Called with the message ids an ack names (outstanding ones), before it is applied or held. */
  acking?: (messageIds: readonly string[]) => void;
}

export interface PublishedMessage {
  messageId: string;
  data: Buffer;
  attributes: Record<string, string>;
  publishTimeMs: number;
}

export interface Delivery {
  ackId: string;
  message: PublishedMessage;
  deliveryAttempt: number;
}

/** A StreamingPull stream as the broker sees it. */
export interface Puller {
  /** 0: no limit. */
  maxOutstanding: number;
  /** The stream's ack deadline (StreamingPull's stream_ack_deadline_seconds); else the subscription's. */
  ackDeadlineS?: number;
  deliver(batch: Delivery[]): void;
  /** Ends the stream (an outage). */
  cut(): void;
}

export class BrokerError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'ALREADY_EXISTS' | 'UNAVAILABLE',
    message: string,
  ) {
    super(message);
  }
}

interface Outstanding {
  message: PublishedMessage;
  attempt: number;
  puller: Puller | undefined;
  expiry: RxSubscription | undefined;
}

/** The default ack deadline of a subscription, seconds (Pub/Sub's default). */
export const DEFAULT_ACK_DEADLINE_S = 10;

class SubscriptionState {
  readonly ready: Array<{ message: PublishedMessage; attempt: number }> = [];
  readonly outstanding = new Map<string, Outstanding>();
  readonly pullers = new Set<Puller>();
  /** A message held back by `reorderRate`, released after the next one. */
  heldBack: PublishedMessage | undefined;
  acked = 0;

  constructor(
    readonly name: string,
    readonly topic: string,
    readonly ackDeadlineS: number,
  ) {}
}

export class PubsubBroker {
  readonly knobs: BrokerKnobs = {
    delayMs: 0,
    duplicateRate: 0,
    reorderRate: 0,
    lossRate: 0,
    outage: false,
    holdAcks: false,
  };
  readonly hooks: BrokerHooks = {};
  /** Message ids named by acks held while `knobs.holdAcks` was on (never applied). */
  readonly heldAcks: string[] = [];
  private readonly topics = new Set<string>();
  private readonly subs = new Map<string, SubscriptionState>();
  private seq = 0;
  private ackSeq = 0;
  /** Messages published per topic (after knobs: what the sink sent). */
  readonly published = new Map<string, number>();

  constructor(
    private readonly scheduler: SchedulerLike = asyncScheduler,
    private readonly random: () => number = Math.random,
  ) {}

  createTopic(name: string): void {
    this.topics.add(name);
  }

  createSubscription(name: string, topic: string, ackDeadlineS = DEFAULT_ACK_DEADLINE_S): void {
    if (!this.topics.has(topic))
      throw new BrokerError('NOT_FOUND', `Resource not found (resource=${topic}).`);
    if (this.subs.has(name))
      throw new BrokerError('ALREADY_EXISTS', `Resource already exists (resource=${name}).`);
    this.subs.set(name, new SubscriptionState(name, topic, ackDeadlineS));
  }

  subscription(name: string): { name: string; topic: string; ackDeadlineS: number } {
    const s = this.sub(name);
    return { name: s.name, topic: s.topic, ackDeadlineS: s.ackDeadlineS };
  }

  hasTopic(name: string): boolean {
    return this.topics.has(name);
  }

  /** Publishes to `topic` (through the knobs); returns the message id. */
  publish(topic: string, data: Buffer, attributes: Record<string, string> = {}): string {
    if (!this.topics.has(topic))
      throw new BrokerError('NOT_FOUND', `Resource not found (resource=${topic}).`);
    this.seq += 1;
    const message: PublishedMessage = {
      messageId: String(this.seq),
      data,
      attributes,
      publishTimeMs: this.scheduler.now(),
    };
    this.published.set(topic, (this.published.get(topic) ?? 0) + 1);
    for (const s of this.subs.values()) {
      if (s.topic !== topic) continue;
      if (this.knobs.lossRate > 0 && this.random() < this.knobs.lossRate) continue;
      const copies = this.knobs.duplicateRate > 0 && this.random() < this.knobs.duplicateRate ? 2 : 1;
      const enqueue = (): void => {
        for (let i = 0; i < copies; i += 1) this.enqueue(s, message);
        this.dispatch(s);
      };
      if (this.knobs.delayMs > 0) this.scheduler.schedule(enqueue, this.knobs.delayMs);
      else enqueue();
    }
    return message.messageId;
  }

  private enqueue(s: SubscriptionState, message: PublishedMessage): void {
    if (s.heldBack === undefined && this.knobs.reorderRate > 0 && this.random() < this.knobs.reorderRate) {
      s.heldBack = message;
      return;
    }
    s.ready.push({ message, attempt: 1 });
    const held = s.heldBack;
    if (held !== undefined && held !== message) {
      s.heldBack = undefined;
      s.ready.push({ message: held, attempt: 1 });
    }
  }

  /** Registers a StreamingPull stream; returns its detach. Refused (UNAVAILABLE) during an outage. */
  attach(subscription: string, puller: Puller): () => void {
    const s = this.sub(subscription);
    if (this.knobs.outage) throw new BrokerError('UNAVAILABLE', 'The service is currently unavailable.');
    s.pullers.add(puller);
    this.dispatch(s);
    return () => {
      s.pullers.delete(puller);
      for (const o of s.outstanding.values()) if (o.puller === puller) o.puller = undefined;
    };
  }

  /** Starts (cutting every open stream) or ends an outage. */
  setOutage(on: boolean): void {
    this.knobs.outage = on;
    if (on) {
      for (const s of this.subs.values()) {
        for (const p of [...s.pullers]) {
          s.pullers.delete(p);
          p.cut();
        }
      }
    } else for (const s of this.subs.values()) this.dispatch(s);
  }

  /** Releases a message held back by `reorderRate` (e.g. at the end of a test). */
  flushHeld(): void {
    for (const s of this.subs.values()) {
      if (s.heldBack === undefined) continue;
      s.ready.push({ message: s.heldBack, attempt: 1 });
      s.heldBack = undefined;
      this.dispatch(s);
    }
  }

  ack(subscription: string, ackIds: readonly string[]): void {
    const s = this.sub(subscription);
    if (this.hooks.acking) {
      const ids: string[] = [];
      for (const id of ackIds) {
        const o = s.outstanding.get(id);
        if (o) ids.push(o.message.messageId);
      }
      this.hooks.acking(ids);
    }
    for (const id of ackIds) {
      const o = s.outstanding.get(id);
      if (!o) continue;
      if (this.knobs.holdAcks) {
        this.heldAcks.push(o.message.messageId);
        continue;
      }
      o.expiry?.unsubscribe();
      s.outstanding.delete(id);
      s.acked += 1;
    }
    this.dispatch(s);
  }

  modifyAckDeadline(subscription: string, ackIds: readonly string[], seconds: number): void {
    const s = this.sub(subscription);
    for (const id of ackIds) {
      const o = s.outstanding.get(id);
      if (!o) continue;
      o.expiry?.unsubscribe();
      if (seconds <= 0) this.expire(s, id);
      else this.arm(s, id, o, seconds);
    }
    this.dispatch(s);
  }

  /** Counts for tests and the bench. */
  stats(subscription: string): { ready: number; outstanding: number; acked: number } {
    const s = this.sub(subscription);
    return {
      ready: s.ready.length + (s.heldBack ? 1 : 0),
      outstanding: s.outstanding.size,
      acked: s.acked,
    };
  }

  private sub(name: string): SubscriptionState {
    const s = this.subs.get(name);
    if (!s) throw new BrokerError('NOT_FOUND', `Resource not found (resource=${name}).`);
    return s;
  }

  private arm(s: SubscriptionState, ackId: string, o: Outstanding, seconds: number): void {
    o.expiry = this.scheduler.schedule(() => {
      this.expire(s, ackId);
      this.dispatch(s);
    }, seconds * 1000);
  }

  private expire(s: SubscriptionState, ackId: string): void {
    const o = s.outstanding.get(ackId);
    if (!o) return;
    o.expiry?.unsubscribe();
    s.outstanding.delete(ackId);
    s.ready.push({ message: o.message, attempt: o.attempt + 1 });
  }

  private room(s: SubscriptionState, p: Puller): number {
    if (p.maxOutstanding <= 0) return Infinity;
    let n = 0;
    for (const o of s.outstanding.values()) if (o.puller === p) n += 1;
    return p.maxOutstanding - n;
  }

  private dispatch(s: SubscriptionState): void {
    if (this.knobs.outage) return;
    for (const p of s.pullers) {
      if (s.ready.length === 0) return;
      const batch: Delivery[] = [];
      let room = this.room(s, p);
      while (room > 0 && s.ready.length > 0) {
        const r = s.ready.shift() as { message: PublishedMessage; attempt: number };
        this.ackSeq += 1;
        const ackId = `ack-${this.ackSeq}`;
        const o: Outstanding = { message: r.message, attempt: r.attempt, puller: p, expiry: undefined };
        s.outstanding.set(ackId, o);
        this.arm(s, ackId, o, p.ackDeadlineS ?? s.ackDeadlineS);
        batch.push({ ackId, message: r.message, deliveryAttempt: r.attempt });
        room -= 1;
      }
      if (batch.length > 0) {
        this.hooks.delivered?.(batch);
        p.deliver(batch);
      }
    }
  }
}

/**
 * Fault injection of an AWS emulator (ECS's, Lambda's): throttling storms, 5xx errors, slow
 * responses, expired credentials and denied actions (an IAM policy without them: HTTP 400
 * AccessDeniedException with AWS's message naming `<service>:<action>`, until `allowActions`). Each
 * fault applies to the actions it names (all actions when none are named). The server asks
 * `decide(action, accessKeyId)` before serving a call and writes a refusal in its protocol's shape.
 */

export type FaultDecision =
  | { kind: 'none'; delayMs: number }
  | { kind: 'error'; status: number; type: string; message: string; delayMs: number };

interface Storm {
  untilMs: number;
  actions?: Set<string>;
}

interface Counted {
  remaining: number;
  actions?: Set<string>;
  status: number;
  type: string;
}

interface Slow {
  delayMs: number;
  remaining: number;
  actions?: Set<string>;
}

export class Faults {
  private storms: Storm[] = [];
  private errors: Counted[] = [];
  private slows: Slow[] = [];
  private readonly expiredKeys = new Set<string>();
  private allExpired = false;
  private readonly denied = new Set<string>();
  /** Calls refused by injected faults, by action. */
  readonly injected = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly account: string,
    /** The IAM prefix of the emulated service's actions (`ecs`, `lambda`); CloudTrail's and STS's are known. */
    private readonly service: string,
  ) {}

  /** Every matching call is throttled for `durationMs` of emulator time. */
  throttleStorm(durationMs: number, actions?: string[]): void {
    this.storms.push({ untilMs: this.now() + durationMs, ...(actions ? { actions: new Set(actions) } : {}) });
  }

  /** The next `count` matching calls fail with HTTP `status` (default 500 ServerException). */
  serverErrors(count: number, actions?: string[], status = 500, type = 'ServerException'): void {
    this.errors.push({ remaining: count, status, type, ...(actions ? { actions: new Set(actions) } : {}) });
  }

  /** The next `count` matching calls are answered after `delayMs` real milliseconds. */
  slowResponses(delayMs: number, count: number, actions?: string[]): void {
    this.slows.push({ delayMs, remaining: count, ...(actions ? { actions: new Set(actions) } : {}) });
  }

  /** Calls signed with `accessKeyId` (every key when omitted) get ExpiredTokenException. */
  expireCredentials(accessKeyId?: string): void {
    if (accessKeyId === undefined) this.allExpired = true;
    else this.expiredKeys.add(accessKeyId);
  }

  /**
   * Every later call of these actions (`ListContainerInstances`, `LookupEvents`) is refused as an
   * IAM policy lacking them would: 400 AccessDeniedException, until `allowActions()`.
   */
  denyActions(actions: string[]): void {
    for (const a of actions) this.denied.add(a);
  }

  /** Lifts every `denyActions`. */
  allowActions(): void {
    this.denied.clear();
  }

  restoreCredentials(): void {
    this.allExpired = false;
    this.expiredKeys.clear();
  }

  clear(): void {
    this.storms = [];
    this.errors = [];
    this.slows = [];
    this.restoreCredentials();
    this.allowActions();
  }

  decide(action: string, accessKeyId: string | undefined): FaultDecision {
    let delayMs = 0;
    for (const s of this.slows) {
      if (s.remaining > 0 && (!s.actions || s.actions.has(action))) {
        s.remaining--;
        delayMs = Math.max(delayMs, s.delayMs);
      }
    }
    this.slows = this.slows.filter((s) => s.remaining > 0);
    const refuse = (status: number, type: string, message: string): FaultDecision => {
      this.injected.set(action, (this.injected.get(action) ?? 0) + 1);
      return { kind: 'error', status, type, message, delayMs };
    };
    if (
      action !== 'AssumeRole' &&
      (this.allExpired || (accessKeyId !== undefined && this.expiredKeys.has(accessKeyId)))
    ) {
      return refuse(400, 'ExpiredTokenException', 'The security token included in the request is expired');
    }
    if (this.denied.has(action)) {
      // AWS's wording for an identity-based policy that lacks the action.
      const service =
        action === 'LookupEvents' ? 'cloudtrail' : action === 'AssumeRole' ? 'sts' : this.service;
      const iamAction = `${service}:${action}`;
      const caller = `arn:aws:sts::${this.account}:assumed-role/sightline-reader/sightline`;
      return refuse(
        400,
        'AccessDeniedException',
        `User: ${caller} is not authorized to perform: ${iamAction} on resource: * ` +
          `because no identity-based policy allows the ${iamAction} action`,
      );
    }
    const now = this.now();
    this.storms = this.storms.filter((s) => s.untilMs > now);
    if (this.storms.some((s) => !s.actions || s.actions.has(action))) {
      return refuse(400, 'ThrottlingException', 'Rate exceeded');
    }
    for (const e of this.errors) {
      if (e.remaining > 0 && (!e.actions || e.actions.has(action))) {
        e.remaining--;
        this.errors = this.errors.filter((x) => x.remaining > 0);
        return refuse(e.status, e.type, 'We encountered an internal error. Please try again.');
      }
    }
    return { kind: 'none', delayMs };
  }
}

/**
 * Agent activity (LAST SEEN) of one adapter: `touch(clusterId)` after each successful
 * cluster-wide poll or observed change emits one `AgentActivity` stamped with the injected
 * scheduler's time. After `close()` the stream is complete and touches are ignored. Never throws.
 */
import { Subject } from 'rxjs';
import type { Observable, SchedulerLike } from 'rxjs';
import type { AgentActivity } from '../model/index.js';

export class ActivityReporter {
  private readonly subject = new Subject<AgentActivity>();
  readonly activity$: Observable<AgentActivity> = this.subject.asObservable();

  constructor(
    private readonly controllerName: string,
    private readonly scheduler: SchedulerLike,
  ) {}

  touch(clusterId: string): void {
    if (this.subject.closed || this.subject.isStopped) return;
    this.subject.next({
      clusterId,
      controllerName: this.controllerName,
      profile: 'observer',
      lastSeenMs: this.scheduler.now(),
    });
  }

  close(): void {
    this.subject.complete();
  }
}

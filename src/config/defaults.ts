/** Default intervals and limits, with units in their names. Documented in README.md (Configuration). */
export const defaults = {
  /** controller-runtime's sync period: 10 h, jittered by [0.9, 1.1). */
  resyncPeriodMs: 10 * 60 * 60 * 1000,
  /** Cluster-wide cheap poll (ECS ListTasks fingerprint, Cloud Run service list). */
  clusterPollIntervalMs: 5_000,
  /** Watchdog: relist when a source saw no hint and no bookmark for this long. */
  watchdogTimeoutMs: 15 * 60 * 1000,
  /** Activity / LAST SEEN heartbeat to the console. */
  heartbeatIntervalMs: 10_000,
  /** Fraction of each documented provider API bucket the watcher may use. */
  budgetFraction: 0.25,
  cloudRun: {
    tailBufferWindowMs: 2_000,
    /** ListLogEntries fallback polling when tailing is refused. */
    logPollIntervalMs: 5_000,
    digestRetryIntervalMs: 60_000,
  },
  ecs: {
    cloudTrailPollIntervalMs: 60_000,
    cloudTrailOverlapMs: 20 * 60 * 1000,
    cloudTrailMaxRequestsPerSecond: 1,
    taskPollIntervalMs: 5_000,
  },
  console: {
    batchMaxItems: 500,
    batchMaxDelayMs: 1_000,
    rpcDeadlineMs: 10_000,
    outboxMaxBytes: 512 * 1024 * 1024,
  },
  http: { listen: '0.0.0.0:9090' },
  /** client-go's and controller-runtime's leader-election timings. */
  leaderElection: {
    leaseName: 'sightline',
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
  },
  shutdownDeadlineMs: 10_000,
} as const;

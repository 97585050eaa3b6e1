/** The state database and its stores (outbox, snapshots, heartbeats, KeyValueCache), and operator access to rejected rows. */
export * from './database.js';
export * from './outbox.js';
export * from './snapshots.js';
export * from './activity-store.js';
export * from './rejected-rows.js';
export * from './dir-lock.js';
export * from './write-health.js';

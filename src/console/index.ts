/** The console side of sightline: proto loading, sink, durable batched client, reference console, views. */
export { ConsoleSink } from './sink.js';
export type { ConsoleSinkDeps } from './sink.js';
export { ConsoleClient } from './client.js';
export type { ConsoleClientDeps } from './client.js';
export { consoleCheck } from './push-health.js';
export type { ConsoleHealth, ConsoleCheck } from './push-health.js';
export type { AgentRpc } from './agent-rpc.js';
export type { RejectReason } from './outbox-sender.js';
export { startReferenceConsole } from './server/reference-console.js';
export type { ReferenceConsole, ReferenceConsoleOptions } from './server/reference-console.js';
export {
  fetchClusters,
  fetchRecords,
  renderClustersTable,
  renderRecordsTable,
  clustersJson,
  recordsJson,
  formatAge,
  formatTime,
  renderRejectedTable,
  rejectedJson,
} from './views.js';
export type { FetchOptions } from './views.js';
export { clustersListCommand, recordsListCommand, consoleServeCommand } from './commands.js';
export type { ListCommandOptions, ConsoleServeOptions } from './commands.js';
export { InvalidReplyError } from './wire-types.js';
export type * from './wire-types.js';

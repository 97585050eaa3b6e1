/**
 * The provider a cluster belongs to: a value of the console model's provider enum
 * (docs/reference/console-model.md) for the platforms a watcher reports, carried on the wire by
 * name. Each adapter names its own; a provider the console does not know needs the proto value
 * first, then its name here (the wire types take the list from here).
 */
export const PROVIDERS = ['CLOUD_RUN', 'ECS', 'APP_RUNNER', 'LAMBDA'] as const;

export type Provider = (typeof PROVIDERS)[number];

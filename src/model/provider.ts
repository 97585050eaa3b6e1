/**
 * Providers sightline watches, with the console's enum numbers (docs/reference/console-model.md: CLOUD_RUN = 10,
 * ECS = 20, APP_RUNNER = 21) so the wire value never depends on declaration order.
 */
export const PROVIDERS = ['CLOUD_RUN', 'ECS'] as const;
export type Provider = (typeof PROVIDERS)[number];

export const providerConsoleNumber: Record<Provider, number> = {
  CLOUD_RUN: 10,
  ECS: 20,
};

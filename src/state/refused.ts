/**
 * The state directory cannot be used as it is and an operator must act (exit 2, not a crash loop
 * that would lose data): a database from a newer sightline, or a directory another daemon holds.
 */
export class StateRefusedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StateRefusedError';
  }
}

/**
 * The adapters' port to a small persistent key-value cache of immutable provider facts (ECS task
 * definitions by ARN, Cloud Run digests by revision). The state database implements it;
 * `MemoryCache` serves tests and `once`.
 * Contract: `get` returns undefined for a missing key and never throws; values are opaque strings
 * (JSON by convention); a namespace separates the facts of different adapters.
 */
export interface KeyValueCache {
  get(namespace: string, key: string): string | undefined;
  set(namespace: string, key: string, value: string): void;
}

export class MemoryCache implements KeyValueCache {
  private readonly data = new Map<string, string>();
  get(namespace: string, key: string): string | undefined {
    return this.data.get(`${namespace}\u0000${key}`);
  }
  set(namespace: string, key: string, value: string): void {
    this.data.set(`${namespace}\u0000${key}`, value);
  }
  get size(): number {
    return this.data.size;
  }
}

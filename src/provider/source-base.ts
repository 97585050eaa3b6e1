/**
 * What every provider WatchSource of ClusterObjects shares: the model's key (`objectKey`), its
 * monotonic order (`objectOrder`, undefined when the provider gives none) and content hash
 * (`objectHash`), and `get` through the batched `getMany` (a key missing from the answer is gone).
 * A source of a new kind subclasses it with `list`, `getMany` and `hints`.
 */
import { objectHash, objectKey, objectOrder } from '../model/index.js';
import type { ClusterObject } from '../model/index.js';

export abstract class ClusterObjectSource {
  abstract readonly id: string;

  keyOf(o: ClusterObject): string {
    return objectKey(o);
  }

  orderOf(o: ClusterObject): number | undefined {
    return objectOrder(o);
  }

  hashOf(o: ClusterObject): string {
    return objectHash(o);
  }

  abstract getMany(keys: string[]): Promise<Map<string, ClusterObject | undefined>>;

  async get(key: string): Promise<ClusterObject | undefined> {
    return (await this.getMany([key])).get(key);
  }
}

/**
 * A bounded lookup table in two generations, for interning. New entries go into the young
 * generation; when it holds `generationMaxEntries` it becomes the old generation and the previous
 * old one is dropped. An entry found in the old generation moves back to the young one. So entries
 * looked up again within a generation stay for good, entries seen once age out after two
 * generations, and the table never holds more than twice `generationMaxEntries`.
 */
export class GenerationalTable<V, K = string> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();

  /**
   * @param promotedKey the key under which an entry found in the old generation is stored again
   *   (default: the key looked up). Interned strings pass the stored string itself, so the table
   *   does not keep the caller's copy.
   */
  constructor(
    readonly generationMaxEntries: number,
    private readonly promotedKey: (key: K, value: V) => K = (key) => key,
  ) {}

  get(key: K): V | undefined {
    const young = this.young.get(key);
    if (young !== undefined) return young;
    const old = this.old.get(key);
    if (old !== undefined) this.set(this.promotedKey(key, old), old);
    return old;
  }

  set(key: K, value: V): void {
    if (this.young.size >= this.generationMaxEntries) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }

  has(key: K): boolean {
    return this.young.has(key) || this.old.has(key);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }
}

/**
 * Values computed once per key and remembered, at most `max` of them: when full it starts over
 * (cleared), so a hot-path cache keyed by ids from outside stays bounded whatever arrives. A `make`
 * that throws remembers nothing and the throw reaches the caller.
 */
export class BoundedMemo<V> {
  private readonly values = new Map<string, V>();

  constructor(private readonly max: number) {}

  get(key: string, make: () => V): V {
    let value = this.values.get(key);
    if (value === undefined) {
      value = make();
      if (this.values.size >= this.max) this.values.clear();
      this.values.set(key, value);
    }
    return value;
  }
}

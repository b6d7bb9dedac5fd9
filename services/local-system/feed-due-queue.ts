/** Work due at a time, earliest first (ties in the order queued): a binary min-heap. */
export class DueQueue<T> {
  private readonly heap: Array<{ readonly at: number; readonly seq: number; readonly item: T }> = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, item: T): void {
    const h = this.heap;
    h.push({ at, seq: this.seq++, item });
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  /** The earliest item if it is due at `now`, taken off the queue. */
  popDue(now: number): T | undefined {
    const h = this.heap;
    const top = h[0];
    if (!top || top.at > now) return undefined;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const m = l + 1 < h.length && this.before(l + 1, l) ? l + 1 : l;
        if (m >= h.length || !this.before(m, i)) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top.item;
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
}

/**
 * The simulation's clock: a queue of things to do at simulated times (milliseconds from the start),
 * done in time order, ties in the order they were scheduled. Nothing waits for real time.
 */
interface Entry {
  readonly t: number;
  readonly seq: number;
  readonly run: () => void;
}

export class SimClock {
  private heap: Entry[] = [];
  private seq = 0;
  now = 0;

  at(t: number, run: () => void): void {
    const e = { t, seq: this.seq++, run };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, h[p] as Entry)) break;
      h[i] = h[p] as Entry;
      i = p;
    }
    h[i] = e;
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l] as Entry, m === i ? last : (h[m] as Entry))) m = l;
        if (r < h.length && before(h[r] as Entry, m === i ? last : (h[m] as Entry))) m = r;
        if (m === i) break;
        h[i] = h[m] as Entry;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }

  /** Runs everything due up to and including `until`; work scheduled meanwhile runs too, in order. */
  runUntil(until: number): void {
    for (;;) {
      const top = this.heap[0];
      if (!top || top.t > until) break;
      this.pop();
      this.now = top.t;
      top.run();
    }
    this.now = until;
  }
}

const before = (a: Entry, b: Entry): boolean => a.t < b.t || (a.t === b.t && a.seq < b.seq);

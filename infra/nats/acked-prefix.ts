/**
 * The watermark of a pipelined publisher: messages are tracked in publish order, acknowledged in any
 * order, and `watermark` is the position of the last message of the longest acknowledged prefix —
 * the point a caller may checkpoint and resume after.
 */
export interface TrackedMessage<P> {
  readonly position: P;
  acked: boolean;
}

export class AckedPrefix<P, E extends TrackedMessage<P> = TrackedMessage<P>> {
  // Publish-ordered entries not yet folded into the watermark; `head` is the first unfolded one.
  private entries: E[] = [];
  private head = 0;
  watermark: P | undefined;

  track(entry: E): E {
    this.entries.push(entry);
    return entry;
  }

  /** The oldest message not yet folded into the watermark (unacknowledged, or acked out of order). */
  get oldest(): E | undefined {
    return this.entries[this.head];
  }

  /** Folds acknowledged messages at the head into the watermark. */
  advance(): void {
    const entries = this.entries;
    let head = this.head;
    while (head < entries.length && entries[head]!.acked) {
      this.watermark = entries[head]!.position;
      head++;
    }
    // Compact now and then so the array does not grow with every message ever published.
    if (head > 4096 && head * 2 > entries.length) {
      this.entries = entries.slice(head);
      head = 0;
    }
    this.head = head;
  }
}

/**
 * The postings of every worker of this process, for the routes, the CLI and the status view:
 * replay a dead letter through its target's worker (recording who asked), and the summary with
 * the live state of the breakers this process holds.
 */
import type { PostingWorker, ReplayOutcome } from "./posting-worker.ts";
import type { PostingsLedger } from "./postings-ledger.ts";
import { type PostingsSummary, summarizePostings } from "./postings-summary.ts";

/** A replay asked for by someone: the replay's outcome, and who asked and when when it was made. */
export type RetryOutcome =
  | (Extract<ReplayOutcome, { outcome: "acked" | "failed" }> & {
      readonly retriedBy: string;
      readonly retriedAt: string;
    })
  | Extract<ReplayOutcome, { outcome: "not-dead" | "unknown" }>;

/** Dead letters and the summary of every worker, for the routes, the CLI and the status view. */
export interface PostingService {
  readonly ledger: PostingsLedger;
  /** Replays a dead letter; `by` (an API key's name) is recorded on the posting. */
  retry(postingId: number, by?: string): Promise<RetryOutcome>;
  summary(now?: Date): PostingsSummary;
}

export const postingService = (
  ledger: PostingsLedger,
  workers: readonly PostingWorker[],
): PostingService => ({
  ledger,
  async retry(postingId, by = "operator") {
    const row = ledger.byId(postingId);
    if (!row) return { outcome: "unknown" };
    const worker = workers.find((w) => w.targetId === row.target);
    if (!worker) return { outcome: "unknown" };
    const result = await worker.replay(postingId);
    if (result.outcome !== "acked" && result.outcome !== "failed") return result;
    const done = ledger.recordAction(postingId, "retry", by);
    return { ...result, retriedBy: done.by, retriedAt: done.at };
  },
  summary(now) {
    // This process holds the breakers: their live state wins over what the ledger last heard.
    const breakers = new Map(workers.map((w) => [w.targetId, w.target.status()]));
    return summarizePostings(ledger, {
      ...(now ? { now } : {}),
      targets: [...breakers.keys()],
      breakers,
    });
  },
});

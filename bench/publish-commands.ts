/**
 * Publishing the benchmark's commands: acked JetStream publishes into `INV_CMD_<R>` (or a stream
 * configured like it), at most `window` unacknowledged, each with its correlation id as `Nats-Msg-Id`.
 */
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { publishWindowed } from "../infra/nats/pipelined-publisher.ts";
import { sleep } from "./measure.ts";
import type { CommandLedger } from "./observers.ts";
import type { BenchCommand } from "./workload.ts";

/**
 * Publishes `cmds` with at most `window` unacknowledged; `at(i)` gives the time to publish command i
 * (performance.now() ms; undefined = at once). The ledger notes each command's publish time: the
 * scheduled time when there is a schedule (so a stalled publisher shows up as latency).
 */
export const publishCommands = async (
  nc: NatsConnection,
  ledger: CommandLedger,
  cmds: readonly BenchCommand[],
  window: number,
  at?: (i: number) => number,
): Promise<{ acked: number; publishMs: number }> => {
  const started = performance.now();
  await publishWindowed(jetstream(nc), cmds.length, window, async (i) => {
    if (at) {
      const wait = at(i) - performance.now();
      if (wait > 1) await sleep(wait);
    }
    const c = cmds[i]!;
    ledger.register(c.correlationId, at ? at(i) : performance.now());
    return { subject: c.subject, data: c.data, msgID: c.correlationId, timeout: 30_000 };
  });
  return { acked: cmds.length, publishMs: performance.now() - started };
};

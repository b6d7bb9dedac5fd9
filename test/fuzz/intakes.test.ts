/**
 * Fuzzing a real regional node (a child process on its own nats-server) through its three intakes:
 * `POST /v1/commands`, request/reply on `inv.req.<r>` and JetStream on `inv.cmd.<r>.<location>.<sku>`
 * (also on another position's subject and on odd subjects of the stream; the last tenth of the
 * cases all at once, so that the intake decides them concurrently). Every input must end
 * applied (and stored as sent), duplicate, parked, refused with a reason, invalid with field
 * errors, or dead-lettered; never a 5xx, a crash, a stall, a silently wrong result, or a lost
 * message. After the run every parked command is resolved, the relay has published every stored
 * event, the intake consumer has nothing pending, and the node still applies a good command.
 *
 * `FUZZ_RUNS` cases (default 300; `make fuzz` runs 20,000) from `FUZZ_SEED` (random unless given;
 * printed with the table, so a failing run can be repeated exactly); `FUZZ_REPORT=<file>` keeps the
 * table and every finding.
 */
import { writeFileSync } from "node:fs";
import fc from "fast-check";
import * as E from "fp-ts/lib/Either.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cmdSubject, reqSubject } from "../../infra/nats/subjects.ts";
import { BatchReplyC, decodeCommandReply } from "../../services/regional-node/command-reply.ts";
import { receipt, waitFor } from "../regional-node/node-fixtures.ts";
import { fuzzCaseArb } from "./command-arbitraries.ts";
import { formatFindings, formatReport } from "./fuzz-outcomes.ts";
import { IntakeHarness } from "./intake-harness.ts";
import { HTTP_KEY, type NodeUnderTest, startNodeUnderTest } from "./node-under-test.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
/** Messages published to JetStream at once in the last tenth of a run. */
const BURST = 500;
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

let node: NodeUnderTest;
beforeAll(async () => {
  node = await startNodeUnderTest();
});
afterAll(async () => {
  await node?.stop();
});

/** A good receipt through each intake is applied after the run. */
const liveness = async (): Promise<string[]> => {
  const problems: string[] = [];
  const region = node.region;
  const cmd = (key: string) => receipt({ region, sku: "LIVE", key, qty: 1 });
  try {
    const res = await fetch(`${node.process.url}/v1/commands`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": HTTP_KEY },
      body: JSON.stringify({ commands: [cmd("live-http")] }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    const body = BatchReplyC.decode(JSON.parse(text));
    const outcome = E.isRight(body) ? body.right.outcomes[0]?.outcome : undefined;
    if (outcome !== "accepted")
      problems.push(`HTTP: a good command after the run was answered ${res.status} ${text.slice(0, 300)}`);
  } catch (err) {
    problems.push(`HTTP: a good command after the run failed: ${(err as Error).message}`);
  }
  try {
    const msg = await node.nc.request(reqSubject(region), JSON.stringify(cmd("live-req")), {
      timeout: 10_000,
    });
    const r = decodeCommandReply(msg.json());
    const outcome = E.isRight(r) ? r.right.outcome : "undecodable";
    if (outcome !== "accepted") problems.push(`request/reply: a good command after the run was ${outcome}`);
  } catch (err) {
    problems.push(`request/reply: a good command after the run failed: ${(err as Error).message}`);
  }
  try {
    await node.js.publish(cmdSubject(region, "DC1", "LIVE"), JSON.stringify(cmd("live-js")));
    await waitFor("the good JetStream command", () => node.eventsOf("live-js").length > 0, 15_000);
  } catch (err) {
    problems.push(`JetStream: a good command after the run was not applied: ${(err as Error).message}`);
  }
  return problems;
};

describe("fuzz: hostile and careless input through every intake of a running node", () => {
  it(
    `${RUNS} cases end applied, duplicate, parked, refused, invalid or dead-lettered`,
    async () => {
      const cases = fc.sample(fuzzCaseArb(node.region, node.otherRegion), { seed: SEED, numRuns: RUNS });
      const harness = new IntakeHarness(node);
      // Nine cases in ten one at a time (a crash or stall is that input's), the rest in bursts.
      const sequential = Math.ceil(cases.length * 0.9);
      for (const [i, c] of cases.slice(0, sequential).entries()) await harness.run(i, c);
      for (let i = sequential; i < cases.length; i += BURST)
        await harness.runBurst(i, cases.slice(i, i + BURST));
      await harness.finish(liveness, cases.length);
      const report = harness.report();
      const header = `fuzz of the node's intakes: ${RUNS} cases, FUZZ_SEED=${SEED}, log lines ${node.process.stderrLines} (${node.process.stderrBytes} bytes)`;
      console.log(formatReport(report, header));
      if (report.findings.length > 0) console.log(formatFindings(report.findings));
      // The whole record (every finding, not only one per kind) for a long run's note.
      if (process.env.FUZZ_REPORT)
        writeFileSync(
          process.env.FUZZ_REPORT,
          `${formatReport(report, header)}\n\n${formatFindings(report.findings, 1_000)}\n\n${JSON.stringify(report.findings, null, 1)}\n`,
        );
      expect(
        report.findings.length,
        `${report.findings.length} findings; repeat with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}\n${formatFindings(report.findings)}`,
      ).toBe(0);
    },
    // Each case is bounded (FUZZ_STALL_MS); a run of n cases takes well under n × 100 ms when healthy.
    120_000 + RUNS * 500,
  );
});

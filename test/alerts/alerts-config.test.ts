/**
 * The `alerts` section of the distributor configuration: decoded and cross-checked (one URL source per
 * receiver, names once), errors naming the field; receiver URLs from a variable or a file; and every
 * runbook anchor an alert links to is a heading of RUNBOOK.md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ConfigError } from "../../infra/config/config-loading.ts";
import { resolveDistributorConfig } from "../../infra/config/distributor-config.ts";
import { RUNBOOK } from "../../services/alerts/alert-model.ts";
import { receiverUrl } from "../../services/alerts/alerting.ts";

const base = {
  distributor: { name: "A" },
  regions: [{ id: "eu" }],
  locations: [{ id: "DC1", region: "eu" }],
  systems: [{ id: "wms-1", kind: "wms" }],
};
const dir = mkdtempSync(path.join(tmpdir(), "stockline-alerts-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problemsOf = (alerts: unknown): string[] => {
  try {
    resolveDistributorConfig({ ...base, alerts });
    return [];
  } catch (err) {
    return (err as ConfigError).errors.map((e) => `${e.path}: ${e.expected}`);
  }
};

describe("alerts configuration", () => {
  it("accepts receivers with a URL from a variable or a file and the optional settings", () => {
    const d = resolveDistributorConfig({
      ...base,
      alerts: {
        receivers: [
          { name: "hook", kind: "webhook", urlEnv: "HOOK_URL" },
          { name: "slack", kind: "slack", urlFile: "slack.url", minSeverity: "critical" },
        ],
        groupWindowMs: 30_000,
        rateLimit: { max: 5, windowMs: 60_000 },
        runbookBaseUrl: "https://example.com/RUNBOOK.md",
        pollMs: 5_000,
        slo: { seconds: 5, objective: 0.99, stages: ["posted"] },
      },
    });
    expect(d.file.alerts?.receivers).toHaveLength(2);
  });

  it("names what is wrong: both or neither URL source, a name twice, an unknown kind, an objective above 1", () => {
    expect(
      problemsOf({
        receivers: [
          { name: "a", kind: "webhook", urlEnv: "X", urlFile: "f" },
          { name: "b", kind: "slack" },
          { name: "b", kind: "webhook", urlEnv: "Y" },
        ],
      }),
    ).toEqual([
      "alerts.receivers.0: exactly one of urlEnv, urlFile (where the receiver's URL is)",
      "alerts.receivers.1: exactly one of urlEnv, urlFile (where the receiver's URL is)",
      "alerts.receivers.2.name: a receiver name used once",
    ]);
    expect(problemsOf({ receivers: [{ name: "a", kind: "email", urlEnv: "X" }] }).join()).toContain(
      "alerts.receivers.0.kind",
    );
    expect(problemsOf({ receivers: [], slo: { seconds: 5, objective: 1.5 } }).join()).toContain(
      "alerts.slo.objective",
    );
  });

  it("reads a receiver's URL from its variable or file, and says which is missing", () => {
    writeFileSync(path.join(dir, "u"), "https://hooks.example.com/x\n");
    expect(receiverUrl({ name: "f", kind: "slack", urlFile: "u" }, {}, dir)).toBe(
      "https://hooks.example.com/x",
    );
    expect(receiverUrl({ name: "e", kind: "webhook", urlEnv: "U" }, { U: "http://h/" }, dir)).toBe(
      "http://h/",
    );
    expect(() => receiverUrl({ name: "e", kind: "webhook", urlEnv: "NOPE" }, {}, dir)).toThrow(
      "alerts receiver e: urlEnv NOPE is not set",
    );
  });
});

/** GitHub's anchor of a heading: lowercased, punctuation dropped, spaces to `-`. */
const anchorOf = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");

describe("runbook links", () => {
  it("every anchor an alert links to is a heading of RUNBOOK.md", () => {
    const anchors = new Set(
      readFileSync("RUNBOOK.md", "utf8")
        .split("\n")
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) => anchorOf(l.replace(/^#+ /, ""))),
    );
    for (const a of Object.values(RUNBOOK)) expect(anchors, a).toContain(a);
  });
});

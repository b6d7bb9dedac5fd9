/**
 * Issue 12, the finance dashboard in a real browser against a real `stockline up`: the ERP (SAP
 * simulator) is changed behind stockline's back at two locations, a reconciliation run finds both,
 * and finance — signed in with its key, seeing only its view — filters them by location, approves
 * the small one (done) and the large one (it then waits for a second approver of another role, and
 * the page says who approved and what is missing); operations gives the second approval and the
 * page shows both approvers; a second run finds the ERP in sync and the drift over time falls to 0.
 * Screenshots: finance-awaiting-second-approval.png, finance-approvals.png in UI_SCREENSHOTS_DIR.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { receipt, startUiStack, type UiStack } from "./ui-fixture.ts";

let s: UiStack;

beforeAll(async () => {
  s = await startUiStack();
}, 300_000);

afterAll(async () => {
  await s?.stop();
}, 90_000);

interface Finding {
  id: string;
  sku: string;
  location: string;
  status: string;
  class: string;
  quantity: number;
  resolution: { approvals?: { by: string; roles: string[] }[] } | null;
}

/** The SAP simulator's base URL, from the configuration `up` runs. */
const sapUrl = (): string => {
  const config = JSON.parse(readFileSync(path.join(s.up.dir, "ui-test.json"), "utf8")) as {
    postings: { targets: { baseUrl: string }[] };
  };
  return config.postings.targets[0]!.baseUrl;
};

const injectIntoSap = async (body: object) => {
  const res = await fetch(`${sapUrl()}/_sim/inject`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(201);
};

describe("finance", () => {
  it("approves findings of a reconciliation against an ERP that disagrees, with a second approver where required", async () => {
    // Stock both positions and wait until SAP has acknowledged both receipts.
    await s.publishAs("WMS_EU", "eu", "DC-AMS", "FIN-BOLT", receipt("WMS_EU", "DC-AMS", "FIN-BOLT", 20));
    await s.publishAs("WMS_US", "us", "DC-NJ", "FIN-NUT", receipt("WMS_US", "DC-NJ", "FIN-NUT", 12));
    await s.up.waitFor(
      "both receipts posted to SAP",
      async () => {
        const r = await s.call("GET", "/v1/postings/summary", "operations");
        const t = (r.json.targets as { target: string; acked: number }[] | undefined)?.find(
          (x) => x.target === "sap",
        );
        return t && t.acked >= 2 ? t : undefined;
      },
      120_000,
    );
    // SAP changed behind stockline's back: 150 more bolts in Amsterdam (above the two-person limit of
    // 100), 3 nuts fewer in New Jersey.
    await injectIntoSap({ Material: "FIN-BOLT", Plant: "NL01", StorageLocation: "0001", delta: 150 });
    await injectIntoSap({ Material: "FIN-NUT", Plant: "US01", StorageLocation: "0001", delta: -3 });
    const run = await s.call("POST", "/v1/reconciliation/runs", "finance", {});
    expect(run.status, JSON.stringify(run.json)).toBe(201);
    const found = run.json.findings as Finding[];
    const bolt = found.find((f) => f.sku === "FIN-BOLT" && f.class === "unexplained");
    const nut = found.find((f) => f.sku === "FIN-NUT" && f.class === "unexplained");
    expect(bolt, JSON.stringify(found)).toMatchObject({ location: "DC-AMS", quantity: 150, status: "open" });
    expect(nut, JSON.stringify(found)).toMatchObject({ location: "DC-NJ", quantity: -3, status: "open" });

    const page = await s.signIn("finance");
    try {
      await page.locator('[data-view="finance"]').waitFor();
      const tabs = await page
        .locator("header nav a")
        .evaluateAll((as) => as.map((a) => a.getAttribute("data-testid")));
      expect(tabs).toEqual(["nav-finance"]);
      await page.getByTestId(`finding-row-${bolt!.id}`).waitFor();
      await page.getByTestId(`finding-row-${nut!.id}`).waitFor();

      // Filters: by location, then by ERP.
      await page.getByTestId("filter-location").selectOption("DC-NJ");
      await expect.poll(() => page.getByTestId(`finding-row-${bolt!.id}`).count()).toBe(0);
      expect(await page.getByTestId(`finding-row-${nut!.id}`).count()).toBe(1);
      await page.getByTestId("filter-location").selectOption("");
      await page.getByTestId("filter-erp").selectOption("sap");
      await page.getByTestId(`finding-row-${bolt!.id}`).waitFor();
      // Decided findings stay in sight.
      await page.getByTestId("filter-status").selectOption("all");

      // The small one: one approval does it; the page says who.
      await page.getByTestId(`approve-${nut!.id}`).click();
      await expect.poll(() => page.getByTestId(`finding-status-${nut!.id}`).textContent()).toBe("approved");
      expect(await page.getByTestId(`approvals-${nut!.id}`).textContent()).toContain(
        "finance-desk (finance)",
      );
      const nutNow = await s.call("GET", `/v1/reconciliation/findings/${nut!.id}`, "finance");
      expect((nutNow.json.finding as Finding).resolution?.approvals?.map((a) => a.by)).toEqual([
        "finance-desk",
      ]);

      // The large one: finance's approval is the first of two; the page names what is missing and
      // finance cannot give the second.
      await page.getByTestId(`approve-${bolt!.id}`).click();
      await expect
        .poll(() => page.getByTestId(`finding-status-${bolt!.id}`).textContent())
        .toBe("awaitingSecondApproval");
      expect(await page.getByTestId(`second-approver-${bolt!.id}`).textContent()).toContain("not finance");
      expect(await page.getByTestId("decision-message").textContent()).toContain("second approval");
      expect(await page.getByTestId(`approve-${bolt!.id}`).isDisabled()).toBe(true);
      await s.screenshot(page, "finance-awaiting-second-approval");
      // The server refuses finance a second time, whatever a page would do.
      const again = await s.call("POST", `/v1/reconciliation/findings/${bolt!.id}/approve`, "finance", {});
      expect(again.status).toBe(403);

      // Operations gives the second approval; finance sees both approvers.
      const second = await s.call(
        "POST",
        `/v1/reconciliation/findings/${bolt!.id}/approve`,
        "operations",
        {},
      );
      expect(second.status, JSON.stringify(second.json)).toBe(200);
      await page.getByTestId("finance-refresh").click();
      await expect.poll(() => page.getByTestId(`finding-status-${bolt!.id}`).textContent()).toBe("approved");
      const approvers = await page.getByTestId(`approvals-${bolt!.id}`).textContent();
      expect(approvers).toContain("finance-desk (finance)");
      expect(approvers).toContain("ops-desk (operations)");

      // The approved adjustments reach the ledger; the next run finds the ERP in sync, and the runs
      // and the drift over time show it: 153 units, then none.
      for (const [sku, onHand] of [
        ["FIN-BOLT", 170],
        ["FIN-NUT", 9],
      ] as const)
        await s.up.waitFor(`${sku} adjusted to SAP's ${onHand}`, async () => {
          const a = await s.call("GET", `/v1/availability/${sku}`, "finance");
          return (a.json.total as { onHand?: number } | undefined)?.onHand === onHand ? true : undefined;
        });
      const next = await s.call("POST", "/v1/reconciliation/runs", "finance", {});
      expect(next.status, JSON.stringify(next.json)).toBe(201);
      expect((next.json.findings as Finding[]).filter((f) => f.sku.startsWith("FIN-"))).toEqual([]);
      await page.getByTestId("finance-refresh").click();
      const runId = (r: { json: Record<string, unknown> }) => (r.json.run as { id: string }).id;
      await page.getByTestId(`run-row-${runId(next)}`).waitFor();
      expect(
        await page
          .getByTestId(`run-row-${runId(run)}`)
          .locator("td")
          .last()
          .textContent(),
      ).toBe("153");
      expect(
        await page
          .getByTestId(`run-row-${runId(next)}`)
          .locator("td")
          .last()
          .textContent(),
      ).toBe("0");
      await page.getByTestId("drift-chart").waitFor();
      await s.screenshot(page, "finance-approvals");
    } finally {
      await page.context().close();
    }
  }, 240_000);
});

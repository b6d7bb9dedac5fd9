/**
 * Issue 12, the dashboards in a real browser (Debian's chromium through playwright-core) against a
 * real `stockline up`: each role signs in with its key and sees only its views; the server refuses
 * what a role's key may not call whatever the page shows; operations retries a dead letter and sees
 * it leave the list; warehouse support looks up a position's history. Screenshots of each role's view
 * go to UI_SCREENSHOTS_DIR.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { receipt, startUiStack, type UiRole, type UiStack } from "./ui-fixture.ts";

let s: UiStack;
const shots: string[] = [];

beforeAll(async () => {
  s = await startUiStack();
}, 300_000);

afterAll(async () => {
  if (shots.length > 0) console.log(`screenshots:\n${shots.join("\n")}`);
  await s?.stop();
}, 90_000);

const VIEW_OF: Record<UiRole, string> = {
  operations: "operations",
  warehouse: "warehouse",
  finance: "finance",
  commerce: "control-tower",
};

describe("the dashboards at /ui", () => {
  it("are public static files with a same-origin content policy; every figure needs a key", async () => {
    const page = await fetch(`${s.api}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await page.text();
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script, html).toBeDefined();
    const js = await fetch(`${s.api}${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("cache-control")).toContain("immutable");
    expect(html).not.toMatch(/https?:\/\//);
    expect((await fetch(`${s.api}/v1/whoami`)).status).toBe(401);
    expect((await fetch(`${s.api}/v1/live/atp`)).status).toBe(401);
  });

  for (const role of ["operations", "warehouse", "finance", "commerce"] as const) {
    it(`${role}: signs in, sees only its view, and the server refuses calls outside its role`, async () => {
      const page = await s.signIn(role);
      try {
        await expect.poll(() => page.getByTestId("who").textContent()).toContain(role);
        const tabs = await page
          .locator("header nav a")
          .evaluateAll((as) => as.map((a) => a.getAttribute("data-testid")));
        expect(tabs).toEqual([`nav-${VIEW_OF[role]}`]);
        await page.locator(`[data-view="${VIEW_OF[role]}"]`).waitFor();
        for (const other of Object.values(VIEW_OF).filter((v) => v !== VIEW_OF[role]))
          expect(await page.locator(`[data-view="${other}"]`).count()).toBe(0);
        const who = await s.call("GET", "/v1/whoami", role);
        expect(who.json).toMatchObject({ roles: [role] });
        // The key is sent in a header, never kept in the page's URL.
        expect(page.url()).not.toContain(s.keys[role]);
        shots.push(await s.screenshot(page, `signed-in-${role}`));
      } finally {
        await page.context().close();
      }
    });
  }

  it("the server enforces the roles, not the page", async () => {
    expect((await s.call("GET", "/v1/exceptions/dead-letters", "warehouse")).status).toBe(403);
    expect((await s.call("GET", "/v1/pipeline/health", "finance")).status).toBe(403);
    expect((await s.call("GET", "/v1/positions/DC-AMS/SKU-1/history", "commerce")).status).toBe(403);
    expect((await s.call("POST", "/v1/exceptions/dead-letters/eu/1/retry", "finance", {})).status).toBe(403);
    const live = await fetch(`${s.api}/v1/live/status`, { headers: { "x-api-key": s.keys.warehouse } });
    expect(live.status).toBe(403);
    expect(((await live.json()) as { requiredRoles: string[] }).requiredRoles).toEqual(["operations"]);
  });

  it("operations sees pipeline health per region and postings per target, and retries a corrected dead letter until it leaves the list", async () => {
    // An invalid command: a location that does not exist (a typo in the WMS).
    const bad = receipt("WMS_EU", "DC-AMX", "UI-SKU-2", 5);
    await s.publishAs("WMS_EU", "eu", "DC-AMX", "UI-SKU-2", bad);
    const row = await s.up.waitFor("the dead letter of the misspelt location", async () => {
      const r = await s.call("GET", "/v1/exceptions/dead-letters?status=open&location=DC-AMX", "operations");
      return (
        r.json.deadLetters as { region: string; seq: number; idempotencyKey?: string }[] | undefined
      )?.find((d) => d.idempotencyKey === bad.idempotencyKey);
    });
    const id = `${row.region}-${row.seq}`;

    const page = await s.signIn("operations");
    try {
      await page.locator('[data-view="operations"]').waitFor();
      // Pipeline health of both regions, live.
      await page.getByTestId("region-eu").waitFor();
      await page.getByTestId("region-us").waitFor();
      await page.getByTestId("target-sap").waitFor();
      // The dead letter with its business context.
      const line = page.getByTestId(`dead-letter-${id}`);
      await line.waitFor();
      const text = await line.textContent();
      for (const part of ["DC-AMX", "UI-SKU-2", "WMS_EU"]) expect(text).toContain(part);

      // Retried as it was, the node refuses it again and says why; it stays open.
      await page.getByTestId(`open-${id}`).click();
      await page.getByTestId("retry").click();
      await expect
        .poll(() => page.getByTestId("dead-letter-action-error").textContent())
        .toMatch(/rejected: .*DC-AMX/);
      await expect.poll(() => line.count()).toBe(1);

      // Corrected (the location), retried: applied, and it leaves the open list.
      const payload = page.getByTestId("dead-letter-payload");
      await payload.fill((await payload.inputValue()).replaceAll("DC-AMX", "DC-AMS"));
      await s.screenshot(page, "operations-fixing-a-dead-letter");
      await page.getByTestId("retry-corrected").click();
      await expect.poll(() => page.getByTestId("dead-letter-notice").textContent()).toMatch(/accepted/);
      await expect.poll(() => line.count(), { timeout: 15_000 }).toBe(0);
      const after = await s.call("GET", `/v1/exceptions/dead-letters/${row.region}/${row.seq}`, "operations");
      expect(after.json.status).toBe("resolved");
      const pos = await s.call("GET", "/v1/positions/DC-AMS/UI-SKU-2", "operations");
      expect(pos.status).toBe(200);
      // Lag over time: the chart has samples from the live topic.
      await expect.poll(() => page.getByTestId("lag-chart").locator("canvas").count()).toBe(1);
      shots.push(await s.screenshot(page, "view-operations"));
    } finally {
      await page.context().close();
    }
  }, 120_000);

  it("warehouse support finds a position's history and anomalies, and traces its document", async () => {
    const sku = "UI-SKU-1";
    const rcpt = receipt("WMS_EU", "DC-AMS", sku, 40);
    await s.publishAs("WMS_EU", "eu", "DC-AMS", sku, rcpt);
    // A count that finds 37 where the books say 40, then a pick of 50: a count variance and a negative balance.
    const { quantity: _q, ...count } = {
      ...receipt("WMS_EU", "DC-AMS", sku, 0),
      kind: "recordCount",
      counted: { value: 37, uom: "EA" },
    };
    await s.publishAs("WMS_EU", "eu", "DC-AMS", sku, count);
    await s.publishAs("WMS_EU", "eu", "DC-AMS", sku, {
      ...receipt("WMS_EU", "DC-AMS", sku, 50),
      kind: "confirmPick",
    });
    await s.up.waitFor("the three commands in the position's history", async () => {
      const r = await s.call("GET", `/v1/positions/DC-AMS/${sku}/history`, "warehouse");
      return ((r.json.events as unknown[] | undefined)?.length ?? 0) >= 3 ? true : undefined;
    });

    const page = await s.signIn("warehouse");
    try {
      await page.locator('[data-view="warehouse"]').waitFor();
      const form = page.getByTestId("position-lookup");
      await form.locator('input[name="location"]').fill("DC-AMS");
      await form.locator('input[name="sku"]').fill(sku);
      await form.getByRole("button", { name: "Look up" }).click();
      await page.getByTestId("history").waitFor();
      await expect
        .poll(() => page.getByTestId("history").locator("tbody tr").count())
        .toBeGreaterThanOrEqual(3);
      const anomalies = page.getByTestId("anomalies");
      await expect.poll(() => anomalies.textContent()).toContain("countVariance");
      await expect.poll(() => anomalies.textContent()).toContain("negativeBalance");
      // The receipt's correlation id opens its trace.
      await page.getByRole("button", { name: rcpt.correlationId }).click();
      await expect.poll(() => page.getByTestId("trace-events").textContent()).toContain("GoodsReceived");
      // A position that does not exist: the API's answer, not an empty page.
      shots.push(await s.screenshot(page, "view-warehouse"));
      await form.locator('input[name="sku"]').fill("NO-SUCH-SKU");
      await form.getByRole("button", { name: "Look up" }).click();
      await expect.poll(() => page.getByTestId("position-error").textContent()).toContain("no position");
    } finally {
      await page.context().close();
    }
  }, 120_000);
});

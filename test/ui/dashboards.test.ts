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

beforeAll(async () => {
  s = await startUiStack();
}, 300_000);

afterAll(async () => {
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

  it("warehouse support finds a position's history", async () => {
    await s.publishAs("WMS_EU", "eu", "DC-AMS", "UI-SKU-1", receipt("WMS_EU", "DC-AMS", "UI-SKU-1", 40));
    await s.up.waitFor("the receipt in the position's history", async () => {
      const r = await s.call("GET", "/v1/positions/DC-AMS/UI-SKU-1/history", "warehouse");
      return r.status === 200 ? r : undefined;
    });
  });
});

/**
 * Issue 12 (and 14), the supply-chain control tower in a real browser against a real `stockline up`:
 * commerce signs in, sees only the control tower, finds a SKU's global ATP across both regions with
 * each region's freshness, its region × location breakdown, its time-phased timeline and what the
 * channel `web-shop` may sell of it — the same figure the channel API answers — and sees a receipt in
 * another region arrive live (SSE), without reloading. Screenshot: control-tower.png.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { receipt, startUiStack, type UiStack } from "./ui-fixture.ts";

let s: UiStack;

beforeAll(async () => {
  s = await startUiStack();
}, 300_000);

afterAll(async () => {
  await s?.stop();
}, 90_000);

const SKU = "CT-MUG";

const globalAtp = async (): Promise<number | undefined> => {
  const r = await s.call("GET", `/v1/availability/${SKU}`, "commerce");
  return r.status === 200 ? (r.json.total as { atp: number }).atp : undefined;
};

describe("control tower", () => {
  it("shows a SKU's global ATP across regions with freshness, its breakdown, timeline and a channel's figure, live", async () => {
    await s.publishAs("WMS_EU", "eu", "DC-AMS", SKU, receipt("WMS_EU", "DC-AMS", SKU, 40));
    await s.publishAs("WMS_US", "us", "DC-NJ", SKU, receipt("WMS_US", "DC-NJ", SKU, 25));
    await s.up.waitFor(
      "the SKU's global ATP 65",
      async () => ((await globalAtp()) === 65 ? true : undefined),
      120_000,
    );

    const page = await s.signIn("commerce");
    try {
      await page.locator('[data-view="control-tower"]').waitFor();
      const tabs = await page
        .locator("header nav a")
        .evaluateAll((as) => as.map((a) => a.getAttribute("data-testid")));
      expect(tabs).toEqual(["nav-control-tower"]);

      // The list: global ATP and each region's figure, both regions fresh.
      await page.getByTestId("sku-search").fill("ct-");
      await page.getByTestId("sku-search").press("Tab");
      await expect
        .poll(() => page.getByTestId(`atp-total-${SKU}`).textContent(), { timeout: 30_000 })
        .toBe("65");
      expect(await page.getByTestId(`atp-${SKU}-eu`).textContent()).toBe("40");
      expect(await page.getByTestId(`atp-${SKU}-us`).textContent()).toBe("25");
      await expect
        .poll(() => page.getByTestId("region-freshness-eu").textContent(), { timeout: 30_000 })
        .toBe("fresh");
      expect(await page.getByTestId("region-freshness-us").textContent()).toBe("fresh");

      // The SKU: region × location, with freshness per region.
      await page.getByTestId(`select-${SKU}`).click();
      await page.getByTestId("sku-detail").waitFor();
      expect(await page.getByTestId("location-atp-eu-DC-AMS").textContent()).toBe("40");
      expect(await page.getByTestId("location-atp-us-DC-NJ").textContent()).toBe("25");
      expect(await page.getByTestId("freshness-eu").textContent()).toBe("fresh");
      await page.getByTestId("timeline-chart").waitFor();

      // A channel's figure, as the channel API answers it.
      await page.getByTestId("channel-input").fill("web-shop");
      await page.getByTestId("channel-input").press("Tab");
      const channel = await s.call("GET", `/v1/channels/web-shop/availability/${SKU}`, "commerce");
      expect(channel.status, JSON.stringify(channel.json)).toBe(200);
      expect(channel.json.quantity).toBe(65);
      await expect
        .poll(() => page.getByTestId("channel-figure").textContent(), { timeout: 30_000 })
        .toContain(`web-shop may sell ${channel.json.quantity}`);

      // Live: a receipt in the US shows up without a reload (the list polls only every 30 s).
      await s.publishAs("WMS_US", "us", "DC-NJ", SKU, receipt("WMS_US", "DC-NJ", SKU, 10));
      await expect
        .poll(() => page.getByTestId(`atp-total-${SKU}`).textContent(), { timeout: 20_000 })
        .toBe("75");
      await expect
        .poll(() => page.getByTestId("location-atp-us-DC-NJ").textContent(), { timeout: 20_000 })
        .toBe("35");
      expect(await page.getByTestId("live-status").textContent()).toContain("last change");

      // Trends: the SLO of each region over the last hour, with the receipts counted.
      await expect
        .poll(() => page.getByTestId("slo-eu").textContent(), { timeout: 30_000 })
        .not.toBe("no events");
      await page.getByTestId("slo-chart").waitFor();
      await page.getByTestId("oversell-chart").waitFor();
      await s.screenshot(page, "control-tower");
    } finally {
      await page.context().close();
    }
  }, 240_000);
});

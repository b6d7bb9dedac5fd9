import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  createD365Simulator,
  type D365QueryRow,
  type D365Simulator,
  type D365SimulatorOptions,
} from "../../services/simulators/d365-inventory-visibility-simulator.ts";
import { sample } from "./samples.ts";

const ENV = "env-test-1";
const API = `/api/environment/${ENV}`;
/** A fresh copy of one Inventory Visibility sample. */
const iv = <T = Record<string, unknown>>(file: string) => sample<T>(`d365-inventory-visibility/${file}`);

const sims: D365Simulator[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const make = (options: D365SimulatorOptions = {}) => {
  const sim = createD365Simulator(options);
  sims.push(sim);
  return sim;
};

const post = (sim: D365Simulator, path: string, body: unknown) =>
  sim.app.inject({ method: "POST", url: `${API}${path}`, payload: body as object });

const indexQuery = async (
  sim: D365Simulator,
  filters: Record<string, string[]>,
  groupByValues: string[] = [],
) => {
  const res = await post(sim, "/onhand/indexquery", { filters, groupByValues, returnNegative: true });
  expect(res.statusCode).toBe(200);
  return res.json() as D365QueryRow[];
};

/** `ColorId=red -> iv.onhand` style summary of a grouped query. */
const byGroup = (rows: D365QueryRow[], measure: string) =>
  Object.fromEntries(
    rows.map((r) => {
      const [ds = "", m = ""] = measure.split(".");
      const key = Object.entries(r.dimensions)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
      return [key, r.quantities[ds]?.[m]];
    }),
  );

const feedAllSamples = async (sim: D365Simulator) => {
  for (const [path, file] of [
    ["/onhand", "onhand_change_single.json"],
    ["/onhand", "onhand_change_base_dimensions.json"],
    ["/onhand", "onhand_change_pos_custom_dims.json"],
    ["/onhand/bulk", "onhand_change_bulk.json"],
  ] as const) {
    const res = await post(sim, path, iv(file));
    expect(res.statusCode, file).toBe(200);
  }
};

describe("D365 Inventory Visibility simulator: on-hand changes from the real samples", () => {
  it("applies single, base-dimension, custom-dimension and bulk changes and answers per change", async () => {
    const sim = make();
    const single = await post(sim, "/onhand", iv("onhand_change_single.json"));
    expect(single.json()).toEqual({
      id: "Test201",
      processingStatus: "success",
      message: "",
      statusCode: 200,
    });
    const bulk = await post(sim, "/onhand/bulk", iv("onhand_change_bulk.json"));
    expect(
      (bulk.json() as { id: string; processingStatus: string }[]).map((r) => [r.id, r.processingStatus]),
    ).toEqual([
      ["Test203", "success"],
      ["Test204", "success"],
    ]);
    await post(sim, "/onhand", iv("onhand_change_base_dimensions.json"));
    await post(sim, "/onhand", iv("onhand_change_pos_custom_dims.json"));

    // Site 1 / location 11: red +1 (Test201, with posMachineId) +1 (Test202); black outbound 3 (Test204).
    const site1 = await indexQuery(
      sim,
      { organizationId: ["usmf"], productId: ["T-shirt"], siteId: ["1"], locationId: ["11"] },
      ["colorId"],
    );
    expect(byGroup(site1, "pos.inbound")).toEqual({ "ColorId=red": 2, "ColorId=black": undefined });
    expect(byGroup(site1, "iv.onhand")).toEqual({ "ColorId=red": 2, "ColorId=black": -3 });
    // Test203 went to SiteId "Site1", another site.
    expect(sim.quantity(ENV, "usmf", "T-shirt", { SiteId: "Site1", LocationId: "11" }, "pos.inbound")).toBe(
      1,
    );
    // PosSiteId/PosLocationId/PosSizeId/PosColorId of data source pos map to the base dimensions; "Outbound" is case-insensitive.
    const mapped = await indexQuery(
      sim,
      { organizationId: ["usmf"], productId: ["MyProduct"], SiteId: ["2"], LocationId: ["21"] },
      ["SizeId", "ColorId"],
    );
    expect(mapped).toEqual([
      {
        organizationId: "usmf",
        productId: "MyProduct",
        dimensions: { SizeId: "Large", ColorId: "Red" },
        quantities: { pos: { outbound: 1 }, iv: { onhand: -1, reserved: 0, availabletoreserve: -1 } },
      },
    ]);
    expect(sim.ledger().map((e) => e.id)).toEqual([
      "Test201",
      "Test203",
      "Test204",
      "Test202",
      "demo-test-00007",
    ]);
  });

  it("set on-hand replaces the level of the measure at those dimensions and records the delta", async () => {
    const sim = make();
    await feedAllSamples(sim);
    const res = await post(sim, "/setonhand/fno/bulk", iv("setonhand_bulk.json"));
    expect(res.statusCode).toBe(200);
    // The row of Test201 (SiteId 1, LocationId 11, posMachineId 0001, red) had pos.inbound 1; it is now 100.
    expect(
      sim.quantity(
        ENV,
        "usmf",
        "T-shirt",
        { SiteId: "1", LocationId: "11", PosMachineId: "0001", ColorId: "red" },
        "pos.inbound",
      ),
    ).toBe(100);
    expect(
      sim.quantity(ENV, "usmf", "T-shirt", { SiteId: "1", LocationId: "11", ColorId: "red" }, "iv.onhand"),
    ).toBe(101);
    expect(sim.ledger().at(-1)).toMatchObject({
      kind: "setonhand",
      id: "Test204",
      deltas: { pos: { inbound: 99 } },
    });
    // Applying the same level again changes nothing.
    await post(sim, "/setonhand/fno/bulk", iv("setonhand_bulk.json"));
    expect(
      sim.quantity(ENV, "usmf", "T-shirt", { SiteId: "1", LocationId: "11", ColorId: "red" }, "iv.onhand"),
    ).toBe(101);
  });

  it("keeps environments apart", async () => {
    const sim = make();
    await post(sim, "/onhand", iv("onhand_change_single.json"));
    expect(sim.quantity("other-env", "usmf", "T-shirt", { SiteId: "1" }, "pos.inbound")).toBe(0);
    expect(sim.quantity(ENV, "usmf", "T-shirt", { SiteId: "1" }, "pos.inbound")).toBe(1);
  });

  it("answers bad input with problem details naming field and value; a bulk reports the bad item only", async () => {
    const sim = make();
    const noSite = { ...iv("onhand_change_single.json"), dimensions: { locationId: "11" } };
    const res = await post(sim, "/onhand", noSite);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      status: 400,
      title: "Bad Request",
      errors: { "dimensions.SiteId": [expect.any(String)] },
    });
    const fraction = { ...iv("onhand_change_single.json"), quantities: { pos: { inbound: 1.5 } } };
    const body = (await post(sim, "/onhand", fraction)).json() as { detail: string };
    expect(body.detail).toContain("quantities.pos.inbound");
    expect(body.detail).toContain("1.5");
    const [good, bad] = iv<Record<string, unknown>[]>("onhand_change_bulk.json");
    const mixed = await post(sim, "/onhand/bulk", [good, { ...bad, productId: undefined }]);
    expect(mixed.statusCode).toBe(200);
    expect(mixed.json()).toMatchObject([
      { id: "Test203", processingStatus: "success" },
      { id: "Test204", processingStatus: "failed", statusCode: 400 },
    ]);
    expect((await post(sim, "/onhand/bulk", { not: "an array" })).statusCode).toBe(400);
    expect(sim.ledger().map((e) => e.id)).toEqual(["Test203"]);
  });
});

describe("D365 Inventory Visibility simulator: idempotency by change id", () => {
  it("a repeated change id answers the first result and is counted once (single and bulk)", async () => {
    const sim = make();
    await feedAllSamples(sim);
    const again = await post(sim, "/onhand", iv("onhand_change_single.json"));
    expect(again.statusCode).toBe(200);
    expect(again.headers["x-sim-duplicate"]).toBe("true");
    expect(again.json()).toMatchObject({ id: "Test201", processingStatus: "success" });
    const bulkAgain = await post(sim, "/onhand/bulk", iv("onhand_change_bulk.json"));
    expect(bulkAgain.headers["x-sim-duplicate"]).toBe("true");
    expect(
      sim.quantity(ENV, "usmf", "T-shirt", { SiteId: "1", LocationId: "11", ColorId: "red" }, "pos.inbound"),
    ).toBe(2);
    expect(
      sim.quantity(ENV, "usmf", "T-shirt", { SiteId: "1", LocationId: "11", ColorId: "black" }, "iv.onhand"),
    ).toBe(-3);
    expect(sim.ledger()).toHaveLength(5);
    expect(sim.stats()).toMatchObject({ applied: 5, duplicates: 3 });
  });

  it("the same id with a different body is a 409 conflict and changes nothing", async () => {
    const sim = make();
    await post(sim, "/onhand", iv("onhand_change_single.json"));
    const changed = { ...iv("onhand_change_single.json"), quantities: { pos: { inbound: 7 } } };
    const res = await post(sim, "/onhand", changed);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ status: 409, title: "Conflict" });
    expect(sim.quantity(ENV, "usmf", "T-shirt", { SiteId: "1" }, "pos.inbound")).toBe(1);
  });

  it("keeps the ledger and the seen ids across a restart with persistence", async () => {
    const dir = mkdtempSync(join(tmpdir(), "d365-sim-"));
    dirs.push(dir);
    const persistPath = join(dir, "iv.json");
    const before = make({ persistPath });
    await post(before, "/onhand", iv("onhand_change_single.json"));
    await before.close();
    const after = make({ persistPath });
    expect((await post(after, "/onhand", iv("onhand_change_single.json"))).headers["x-sim-duplicate"]).toBe(
      "true",
    );
    expect(after.quantity(ENV, "usmf", "T-shirt", { SiteId: "1" }, "pos.inbound")).toBe(1);
    expect(after.ledger()).toHaveLength(1);
  });
});

describe("D365 Inventory Visibility simulator: soft reservations", () => {
  const stockFor = (reserve: Record<string, unknown>, quantity: number) => ({
    id: "stock-for-reserve",
    organizationId: reserve.organizationId,
    productId: reserve.productId,
    dimensions: reserve.dimensions,
    quantities: { pos: { inbound: quantity } },
  });

  it("reserves against availability, repeats idempotently and unreserves by reservation id", async () => {
    const sim = make();
    const reserve = iv("reserve.json");
    const dims = reserve.dimensions as Record<string, string>;
    const atr = () => sim.quantity(ENV, "SCM_IV", "iv_postman_product", dims, "iv.availabletoreserve");

    const refused = await post(sim, "/onhand/reserve", reserve);
    expect(refused.statusCode).toBe(400);
    expect((refused.json() as { detail: string }).detail).toContain("requested 1");

    await post(sim, "/onhand", stockFor(reserve, 5));
    const first = await post(sim, "/onhand/reserve", reserve);
    expect(first.statusCode).toBe(200);
    const result = first.json() as {
      reservationId: string;
      id: string;
      processingStatus: string;
      statusCode: number;
    };
    expect(result).toMatchObject({ id: "reserve-0", processingStatus: "success", statusCode: 200 });
    expect(result.reservationId).not.toBe("");
    expect(atr()).toBe(4);
    expect(sim.quantity(ENV, "SCM_IV", "iv_postman_product", dims, "iv.softreservordered")).toBe(1);

    const repeat = await post(sim, "/onhand/reserve", reserve);
    expect((repeat.json() as { reservationId: string }).reservationId).toBe(result.reservationId);
    expect(atr()).toBe(4);

    const unreserve = { ...iv("unreserve.json"), reservationId: result.reservationId };
    const released = await post(sim, "/onhand/unreserve", unreserve);
    expect(released.statusCode).toBe(200);
    expect(released.json()).toMatchObject({
      reservationId: result.reservationId,
      id: "unreserve-0",
      processingStatus: "success",
    });
    expect(atr()).toBe(5);
    expect((await post(sim, "/onhand/unreserve", unreserve)).headers["x-sim-duplicate"]).toBe("true");
    expect(atr()).toBe(5);

    const beyond = await post(sim, "/onhand/unreserve", { ...unreserve, id: "unreserve-1" });
    expect(beyond.statusCode).toBe(400);
    const unknown = await post(sim, "/onhand/unreserve", {
      ...unreserve,
      id: "unreserve-2",
      reservationId: "nope",
    });
    expect(unknown.statusCode).toBe(404);
  });
});

describe("D365 Inventory Visibility simulator: faults and changes outside the sync", () => {
  it("during an outage answers 503 problem details and applies nothing; errors and lost responses are injectable", async () => {
    const sim = make();
    await sim.app.inject({ method: "POST", url: "/_sim/outage", payload: { down: true } });
    const refused = await post(sim, "/onhand", iv("onhand_change_single.json"));
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ status: 503, title: "Service Unavailable" });
    expect(sim.ledger()).toHaveLength(0);
    await sim.app.inject({ method: "POST", url: "/_sim/outage", payload: { down: false } });

    const faults = await sim.app.inject({
      method: "POST",
      url: "/_sim/faults",
      payload: { errorRate: 1, errorStatus: 500 },
    });
    expect(faults.statusCode).toBe(200);
    expect((await post(sim, "/onhand", iv("onhand_change_single.json"))).statusCode).toBe(500);
    expect(sim.ledger()).toHaveLength(0);
    expect(
      (await sim.app.inject({ method: "POST", url: "/_sim/faults", payload: { errorRate: 2 } })).statusCode,
    ).toBe(400);

    sim.setFaults({ errorRate: 0, lostResponseRate: 1 });
    expect((await post(sim, "/onhand", iv("onhand_change_single.json"))).statusCode).toBe(504);
    sim.setFaults({ lostResponseRate: 0 });
    expect((await post(sim, "/onhand", iv("onhand_change_single.json"))).headers["x-sim-duplicate"]).toBe(
      "true",
    );
    expect(sim.quantity(ENV, "usmf", "T-shirt", { SiteId: "1" }, "pos.inbound")).toBe(1);
  });

  it("a change injected outside the sync appears in queries and in the ledger as an injection", async () => {
    const sim = make();
    await feedAllSamples(sim);
    const res = await sim.app.inject({
      method: "POST",
      url: `/_sim/inject?env=${ENV}`,
      payload: {
        organizationId: "usmf",
        productId: "T-shirt",
        dimensions: { siteId: "1", locationId: "11", colorId: "red" },
        quantities: { pos: { outbound: 2 } },
      },
    });
    expect(res.statusCode).toBe(201);
    const rows = await indexQuery(
      sim,
      { organizationId: ["usmf"], productId: ["T-shirt"], siteId: ["1"], locationId: ["11"] },
      ["colorId"],
    );
    expect(byGroup(rows, "iv.onhand")).toEqual({ "ColorId=red": 0, "ColorId=black": -3 });
    const ledger = (await sim.app.inject({ method: "GET", url: "/_sim/ledger" })).json() as {
      entries: { origin: string; id: string }[];
    };
    expect(ledger.entries.filter((e) => e.origin === "inject")).toHaveLength(1);
    expect(ledger.entries.at(-1)?.id).toMatch(/^inject-/);
  });

  it("serves over real HTTP on a free port and drops connections in a drop outage", async () => {
    const sim = make();
    const url = await sim.listen(0);
    const send = () =>
      fetch(`${url}${API}/onhand`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(iv("onhand_change_single.json")),
      });
    expect((await send()).status).toBe(200);
    sim.setOutage(true, { mode: "drop" });
    await expect(send()).rejects.toThrow();
    sim.setOutage(false);
    expect((await send()).headers.get("x-sim-duplicate")).toBe("true");
    expect(sim.ledger()).toHaveLength(1);
  });
});

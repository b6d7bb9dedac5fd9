/**
 * The node configuration's `masterData` (issue 10): decoded and cross-checked like the distributor's,
 * errors named under `masterData.`; units come from its products unless `units` is given too (then
 * `units` wins); without it nothing changes (EA only, no master data).
 */
import { describe, expect, it } from "vitest";
import { EACH_ONLY } from "../../domain/units.ts";
import { ConfigError, resolveNodeConfig } from "../../infra/config/node-config.ts";

const masterData = {
  locations: [
    { id: "DC-AMS", region: "eu" },
    { id: "DC-NJ", region: "us" },
  ],
  products: {
    items: [{ sku: "WATER", baseUom: "BT", conversions: [{ uom: "CS", quantity: 6, of: "BT" }] }],
    catalogue: "closed",
  },
  statuses: { "sap-nl": { QI: "inspection" } },
};

describe("node configuration with master data", () => {
  it("indexes master data and takes the units of its products", () => {
    const c = resolveNodeConfig({ region: "eu", masterData });
    expect(c.masterData?.location("DC-NJ")?.region).toBe("us");
    expect(c.masterData?.canonicalStatus("sap-nl", "QI")).toBe("inspection");
    expect(c.masterData?.knowsSku("OTHER")).toBe(false);
    expect(c.units).toEqual({
      skus: { WATER: { baseUom: "BT", conversions: [{ uom: "CS", quantity: 6, of: "BT" }] } },
    });
  });

  it("lets an explicit units override master data's", () => {
    const units = { skus: {}, default: { baseUom: "KG" } };
    expect(resolveNodeConfig({ region: "eu", masterData, units }).units).toEqual(units);
  });

  it("changes nothing without it", () => {
    const c = resolveNodeConfig({ region: "eu" });
    expect(c.masterData).toBeUndefined();
    expect(c.units).toEqual(EACH_ONLY);
  });

  it("names a bad or duplicated entry under masterData", () => {
    const twice = { ...masterData, locations: [...masterData.locations, { id: "DC-AMS", region: "us" }] };
    expect(() => resolveNodeConfig({ region: "eu", masterData: twice })).toThrow(ConfigError);
    expect(() => resolveNodeConfig({ region: "eu", masterData: twice })).toThrow(
      /masterData\.locations\.2\.id: got "DC-AMS", expected a location id used once/,
    );
    const badStatus = { ...masterData, statuses: { "sap-nl": { QI: "quarantined" } } };
    expect(() => resolveNodeConfig({ region: "eu", masterData: badStatus })).toThrow(/masterData.*QI/);
  });
});

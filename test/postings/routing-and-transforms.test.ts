import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { decodeRoutingConfig, type RoutingConfig, routeEvent } from "../../domain/routing-rules.ts";
import { d365OnHandChangeFor } from "../../services/postings/d365-connector.ts";
import { sapMaterialDocumentFor } from "../../services/postings/sap-connector.ts";
import type { D365TargetConfig, SapTargetConfig } from "../../services/postings/target-connector.ts";
import { adjust, PositionHistory, pick, receive, ship } from "./fixtures.ts";

const ROUTING: RoutingConfig = {
  targets: [
    { id: "sap", systems: ["SAP_S4"] },
    { id: "d365", systems: ["D365", "dynamics"] },
  ],
  rules: [
    { target: "sap", events: ["GoodsReceived", "ShipmentPosted"], locations: "DC*" },
    { target: "d365", events: ["*"], regions: ["eu"] },
  ],
};

const SAP: SapTargetConfig = {
  kind: "sap-s4hana",
  id: "sap",
  baseUrl: "http://sap",
  locations: {
    DC1: { plant: "1010", storageLocation: "0001" },
    DC2: { plant: "1020", storageLocation: "0001" },
  },
};
const D365: D365TargetConfig = {
  kind: "d365-inventory-visibility",
  id: "d365",
  baseUrl: "http://d365",
  environmentId: "env",
  organizationId: "usmf",
  locations: { DC1: { siteId: "1", locationId: "11" } },
};

describe("routing rules", () => {
  const h = new PositionHistory({ region: "eu", location: "DC1", sku: "S" });
  const [wmsReceipt] = h.apply(receive(5));
  const [sapReceipt] = h.apply(receive(5), "SAP_S4");
  const [d365Receipt] = h.apply(receive(5), "dynamics");
  const [picked] = h.apply(pick(2));

  it("sends an event to every target a rule selects", () => {
    expect(routeEvent(ROUTING, wmsReceipt!)).toEqual({ deliver: ["sap", "d365"], suppressed: [] });
    expect(routeEvent(ROUTING, picked!).deliver).toEqual(["d365"]);
  });

  it("never sends a movement back to the system that reported it, under any of its names", () => {
    expect(routeEvent(ROUTING, sapReceipt!)).toEqual({
      deliver: ["d365"],
      suppressed: [{ target: "sap", reason: "echo: GoodsReceived was reported by SAP_S4, which is sap" }],
    });
    expect(routeEvent(ROUTING, d365Receipt!).deliver).toEqual(["sap"]);
  });

  it("matches locations by glob and regions by list", () => {
    const other = new PositionHistory({ region: "us", location: "STORE1", sku: "S" });
    expect(routeEvent(ROUTING, other.apply(receive(1))[0]!).deliver).toEqual([]);
  });

  it("refuses a configuration naming an unknown target or event type, saying which field", () => {
    const bad = decodeRoutingConfig({
      targets: [{ id: "sap", systems: ["SAP_S4"] }],
      rules: [{ target: "sapp", events: ["GoodsReceived"] }],
    });
    expect(E.isLeft(bad) && bad.left.map((e) => e.path)).toEqual(["rules.0.target"]);
    const badType = decodeRoutingConfig({ targets: [], rules: [{ target: "x", events: ["Teleported"] }] });
    expect(E.isLeft(badType) && badType.left[0]?.path).toBe("rules.0.events.0");
    expect(E.isRight(decodeRoutingConfig(ROUTING))).toBe(true);
  });
});

describe("transforms", () => {
  const movement = (e: CanonicalEvent | undefined) => {
    const t = sapMaterialDocumentFor(SAP, e!);
    return t.kind === "post" ? t.payload.to_MaterialDocumentItem[0] : t.kind;
  };

  it("maps canonical events to SAP movement types with plant and storage location", () => {
    const h = new PositionHistory({ region: "eu", location: "DC1", sku: "MAT-1" });
    expect(movement(h.apply(receive(10, { documents: { po: "4500000001" } }))[0])).toMatchObject({
      GoodsMovementType: "101",
      Plant: "1010",
      StorageLocation: "0001",
      QuantityInEntryUnit: "10",
      PurchaseOrder: "4500000001",
    });
    expect(movement(h.apply(pick(4))[0])).toBe("skip");
    expect(movement(h.apply(ship(4))[0])).toMatchObject({
      GoodsMovementType: "601",
      QuantityInEntryUnit: "4",
    });
    expect(movement(h.apply(adjust(-1))[0])).toMatchObject({
      GoodsMovementType: "702",
      QuantityInEntryUnit: "1",
    });
    expect(
      movement(h.apply({ kind: "consumeForProduction", quantity: { value: 2, uom: "EA" } })[0]),
    ).toMatchObject({
      GoodsMovementType: "261",
    });
    expect(
      movement(
        h.apply({
          kind: "shipTransfer",
          quantity: { value: 1, uom: "EA" },
          destination: { region: "eu", location: "DC2" },
          documents: { transferOrder: "TO-1" },
        })[0],
      ),
    ).toMatchObject({
      GoodsMovementType: "301",
      IssuingOrReceivingPlant: "1020",
      IssuingOrReceivingStorageLoc: "TRAN",
    });
  });

  it("posts a transfer to or from another ERP's DC as a cross-company issue and receipt, not via transit", () => {
    const out = new PositionHistory({ region: "eu", location: "DC1", sku: "MAT-1" });
    out.apply(receive(10));
    const shipped = out.apply({
      kind: "shipTransfer",
      quantity: { value: 3, uom: "EA" },
      destination: { region: "us", location: "DC-NJ" },
      documents: { transferOrder: "TO-X" },
    })[0];
    const issue = movement(shipped) as Record<string, string>;
    expect(issue).toMatchObject({ GoodsMovementType: "643", Plant: "1010", QuantityInEntryUnit: "3" });
    expect(issue.IssuingOrReceivingStorageLoc).toBeUndefined();

    const into = new PositionHistory({ region: "eu", location: "DC2", sku: "MAT-1" });
    // Announced by the origin (the node derives this from the origin's TransferShipped) ...
    into.apply({
      kind: "recordInboundTransfer",
      quantity: { value: 3, uom: "EA" },
      origin: { region: "us", location: "DC-NJ" },
      documents: { transferOrder: "TO-Y" },
    });
    const received = into.apply({
      kind: "receiveTransfer",
      quantity: { value: 3, uom: "EA" },
      documents: { transferOrder: "TO-Y" },
    })[0];
    // ... so the receipt knows where it came from.
    expect(received).toMatchObject({ type: "TransferReceived", origin: { region: "us", location: "DC-NJ" } });
    expect(movement(received)).toMatchObject({
      GoodsMovementType: "501",
      Plant: "1020",
      StorageLocation: "0001",
    });
    // From a DC this SAP manages: out of the transit storage location, as before.
    into.apply({
      kind: "recordInboundTransfer",
      quantity: { value: 2, uom: "EA" },
      origin: { region: "eu", location: "DC1" },
      documents: { transferOrder: "TO-Z" },
    });
    const local = into.apply({
      kind: "receiveTransfer",
      quantity: { value: 2, uom: "EA" },
      documents: { transferOrder: "TO-Z" },
    })[0];
    expect(movement(local)).toMatchObject({ GoodsMovementType: "311", StorageLocation: "TRAN" });
  });

  it("refuses (to the dead letters) an event at a location without mapping", () => {
    const h = new PositionHistory({ region: "eu", location: "DC9", sku: "MAT-1" });
    const [e] = h.apply(receive(1));
    expect(sapMaterialDocumentFor(SAP, e!)).toMatchObject({
      kind: "reject",
      reason: expect.stringMatching(/DC9/),
    });
    expect(d365OnHandChangeFor(D365, e!, "k")).toMatchObject({ kind: "reject" });
  });

  it("maps to a D365 on-hand change keyed by the event key, with the signed effect", () => {
    const h = new PositionHistory({ region: "eu", location: "DC1", sku: "P-1" });
    h.apply(receive(10));
    h.apply(pick(3));
    const [shipped] = h.apply(ship(3));
    expect(d365OnHandChangeFor(D365, shipped!, "eu:position-DC1~P-1:2")).toEqual({
      kind: "post",
      payload: {
        id: "eu:position-DC1~P-1:2",
        organizationId: "usmf",
        productId: "P-1",
        dimensions: { SiteId: "1", LocationId: "11" },
        quantities: { fno: { availphysical: -3 } },
      },
      summary: expect.any(String),
    });
  });
});

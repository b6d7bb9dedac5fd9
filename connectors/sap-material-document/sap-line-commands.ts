/**
 * The commands of one SAP material document line whose fields all mapped (sap-material-document.ts
 * reads and checks them): the movement type's rule decides the command kinds and signs.
 */
import type { Documents, SourceDocument } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import type { Location } from "../../domain/master-data.ts";
import type { SourceQuantity } from "../../domain/quantity.ts";
import type { StockStatus } from "../../domain/statuses.ts";
import type { DebitCredit, MovementType } from "./movement-types.ts";

export interface LineFacts {
  readonly typeCode: string;
  readonly movement: MovementType;
  readonly sku: string;
  /** The line's plant and storage location. */
  readonly here: Location;
  /** A transfer's other side (IssuingOrReceivingPlant/StorageLoc). */
  readonly other?: Location;
  readonly quantity: SourceQuantity;
  readonly status: StockStatus;
  readonly indicator: DebitCredit;
  readonly lot?: string;
  /** IssgOrRcvgBatch: the batch on a transfer's other side. */
  readonly otherLot?: string | undefined;
  readonly refDocType: string | undefined;
  readonly purchaseOrder: string | undefined;
  readonly productionOrder: string | undefined;
  readonly salesOrder: string | undefined;
  readonly delivery: string | undefined;
  /** `<document>:<line>` of the line a reversal reverses. */
  readonly reversedLine?: string;
}

export interface LineContext {
  readonly system: string;
  readonly document: SourceDocument;
  /** The line's key; further commands of the line add a suffix. */
  readonly key: string;
  readonly businessTime: string;
  readonly pickOnGoodsIssue: boolean;
}

const defined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

export const commandsOfLine = (f: LineFacts, c: LineContext): Command[] => {
  const base = (location: Location, key: string) => ({
    idempotencyKey: key,
    source: { system: c.system, document: c.document },
    businessTime: c.businessTime,
    correlationId: c.document.id,
    position: { region: location.region, location: location.id, sku: f.sku },
    ...(f.reversedLine ? { causationId: `${c.system}:${f.reversedLine}` } : {}),
  });
  const documents = (d: Documents) => {
    const kept = defined(d);
    return Object.keys(kept).length > 0 ? { documents: kept } : {};
  };
  const lot = f.lot ? { lot: f.lot } : {};
  const m = f.movement;
  switch (m.rule) {
    case "receipt":
      return [
        f.refDocType === "F"
          ? {
              kind: "recordProductionOutput",
              ...base(f.here, c.key),
              quantity: f.quantity,
              status: f.status,
              ...lot,
              ...documents({ productionOrder: f.productionOrder }),
            }
          : {
              kind: "receiveGoods",
              ...base(f.here, c.key),
              quantity: f.quantity,
              status: f.status,
              ...lot,
              ...documents({ po: f.purchaseOrder }),
            },
      ];
    case "adjustment":
      return [
        {
          kind: "adjustStock",
          ...base(f.here, c.key),
          quantity: {
            value: f.indicator === "S" ? f.quantity.value : -f.quantity.value,
            uom: f.quantity.uom,
          },
          reasonCode: `SAP-${f.typeCode}`,
          status: m.status ?? f.status,
          ...documents({
            po: f.purchaseOrder,
            productionOrder: f.productionOrder,
            order: f.salesOrder ?? f.delivery,
          }),
        },
      ];
    case "consumption":
      return [
        {
          kind: "consumeForProduction",
          ...base(f.here, c.key),
          quantity: f.quantity,
          ...lot,
          ...documents({ productionOrder: f.productionOrder }),
        },
      ];
    case "shipment": {
      const order = documents({ order: f.salesOrder ?? f.delivery });
      const ship: Command = {
        kind: "postShipment",
        ...base(f.here, c.key),
        quantity: f.quantity,
        ...lot,
        ...order,
      };
      if (!c.pickOnGoodsIssue) return [ship];
      return [
        { kind: "confirmPick", ...base(f.here, `${c.key}:pick`), quantity: f.quantity, ...lot, ...order },
        ship,
      ];
    }
    case "return":
      return [
        {
          kind: "receiveReturn",
          ...base(f.here, c.key),
          quantity: f.quantity,
          into: m.into,
          ...lot,
          ...documents({ rma: f.salesOrder ?? f.delivery }),
        },
      ];
    case "statusChange":
      return [
        {
          kind: "changeStatus",
          ...base(f.here, c.key),
          quantity: f.quantity,
          fromStatus: m.from,
          toStatus: m.to,
          ...lot,
        },
      ];
    case "transfer": {
      const other = f.other as Location;
      // H: the line's storage location issues; S: it receives (a reversal, or the counterpart line).
      const [from, to] = f.indicator === "H" ? [f.here, other] : [other, f.here];
      // Both storage locations are one canonical location: nothing moves for stockline.
      if (from.id === to.id) return [];
      const hereLot = f.lot;
      const otherLot = f.otherLot ?? f.lot;
      const [fromLot, toLot] = f.indicator === "H" ? [hereLot, otherLot] : [otherLot, hereLot];
      const transferOrder = `${c.document.id}:${c.document.line}`;
      return [
        {
          kind: "shipTransfer",
          ...base(from, c.key),
          quantity: f.quantity,
          destination: { region: to.region, location: to.id },
          documents: { transferOrder },
          status: f.status,
          ...(fromLot ? { lot: fromLot } : {}),
        },
        {
          kind: "receiveTransfer",
          ...base(to, `${c.key}:receive`),
          quantity: f.quantity,
          documents: { transferOrder },
          status: f.status,
          origin: { region: from.region, location: from.id },
          ...(toLot ? { lot: toLot } : {}),
        },
      ];
    }
  }
};

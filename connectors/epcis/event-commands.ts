/**
 * The commands of one ObjectEvent or TransformationEvent (already valid against the EPCIS schema):
 * its location from bizLocation (else readPoint), its trade items, its movement from action, bizStep
 * and disposition (cbv-mapping.ts), its documents from bizTransactionList.
 */
import * as E from "fp-ts/lib/Either.js";
import type { Documents } from "../../domain/canonical-event.ts";
import { type Command, decodeCommand, formatDecodeErrors } from "../../domain/commands.ts";
import type { Location, MasterData } from "../../domain/master-data.ts";
import type { StockStatus } from "../../domain/statuses.ts";
import { toBaseQuantity, unitsOf } from "../../domain/units.ts";
import { objectMovement, statusOfDisposition } from "./cbv-mapping.ts";
import { classItems, type Item, instanceItems, type Problem } from "./event-items.ts";
import { cbvWord, glnOfLocation } from "./identifiers.ts";

/** An event as the schema guarantees it, read loosely (members beyond these are extensions). */
export interface EpcisEvent {
  readonly type: string;
  readonly eventTime: string;
  readonly eventID?: string;
  readonly action?: string;
  readonly bizStep?: string;
  readonly disposition?: string;
  readonly readPoint?: { readonly id: string };
  readonly bizLocation?: { readonly id: string };
  readonly bizTransactionList?: readonly { readonly type?: string; readonly bizTransaction: string }[];
  readonly sourceList?: readonly { readonly type: string; readonly source: string }[];
  readonly destinationList?: readonly { readonly type: string; readonly destination: string }[];
  readonly ilmd?: Readonly<Record<string, unknown>>;
  readonly errorDeclaration?: {
    readonly declarationTime: string;
    readonly reason?: string;
    readonly correctiveEventIDs?: readonly string[];
  };
  readonly [member: string]: unknown;
}

export interface EventCommands {
  readonly commands: readonly Command[];
  readonly problems: readonly Problem[];
}

interface Env {
  readonly system: string;
  readonly md: MasterData;
  /** The event's id for keys and documents: its eventID, or `sha256:<hash>` of the event without one. */
  readonly key: string;
  readonly path: string;
  readonly event: EpcisEvent;
}

/** The business documents of bizTransactionList; `po` names the customer's order on outbound moves. */
const documentsOf = (ev: EpcisEvent, outbound: boolean): Documents => {
  const out: Record<string, string> = {};
  const slot: Record<string, string> = {
    po: outbound ? "order" : "po",
    desadv: "asn",
    rma: "rma",
    prodorder: "productionOrder",
  };
  for (const bt of ev.bizTransactionList ?? []) {
    const type = bt.type === undefined ? undefined : cbvWord(bt.type, "BTT");
    const field = type !== undefined && Object.hasOwn(slot, type) ? slot[type] : undefined;
    // The first of a type wins: a command names one document of each kind (README: not covered).
    if (field !== undefined && out[field] === undefined) out[field] = bt.bizTransaction;
  }
  return out;
};

/** The lot ILMD gives the objects an event creates (`cbvmda:lotNumber`). */
const ilmdLot = (ev: EpcisEvent): string | undefined => {
  const v = ev.ilmd?.["cbvmda:lotNumber"] ?? ev.ilmd?.["urn:epcglobal:cbv:mda:lotNumber"];
  return typeof v === "string" && v.length > 0 ? v : undefined;
};

/** Our location named by a source or destination of type `location`, when it is one of ours. */
const ourLocation = (
  md: MasterData,
  entries: readonly { type: string; id: string }[],
): Location | undefined => {
  for (const e of entries) {
    if (cbvWord(e.type, "SDT") !== "location") continue;
    const gln = glnOfLocation(e.id);
    if (gln.ok) return md.locationByGln(gln.value);
  }
  return undefined;
};

const locationOf = (env: Env): { location?: Location; problem?: Problem } => {
  const { event: ev, path, md } = env;
  const where = ev.bizLocation
    ? { at: `${path}.bizLocation.id`, id: ev.bizLocation.id }
    : ev.readPoint
      ? { at: `${path}.readPoint.id`, id: ev.readPoint.id }
      : undefined;
  if (!where)
    return {
      problem: { at: `${path}.bizLocation`, reason: "a bizLocation or readPoint naming where the stock is" },
    };
  const gln = glnOfLocation(where.id);
  if (!gln.ok) return { problem: { at: where.at, value: where.id, reason: gln.reason } };
  const location = md.locationByGln(gln.value);
  return location
    ? { location }
    : {
        problem: { at: where.at, value: where.id, reason: `a location of master data with GLN ${gln.value}` },
      };
};

type Body = Record<string, unknown> & { kind: Command["kind"] };

export const eventCommands = (env: Env): EventCommands => {
  const { event: ev, path, md, system } = env;
  const problems: Problem[] = [];
  const where = locationOf(env);
  if (where.problem) problems.push(where.problem);
  const disposition = ev.disposition === undefined ? undefined : cbvWord(ev.disposition, "Disp");
  const status = statusOfDisposition(md, system, disposition);
  /** A status where the movement needs one: a disposition without a stock status is a problem. */
  const needStatus = (): StockStatus | undefined => {
    if (disposition === undefined || status !== undefined) return status ?? "available";
    problems.push({
      at: `${path}.disposition`,
      value: ev.disposition,
      reason: `a disposition with a stock status for this movement (CBV sellable_accessible, damaged, ... or statuses.${system} in master data)`,
    });
    return undefined;
  };

  const bodies: { item: Item; body: Body }[] = [];
  const build = (items: readonly Item[], body: (item: Item) => Body | undefined) => {
    for (const item of items) {
      const b = body(item);
      if (b) bodies.push({ item, body: b });
    }
  };
  const collect = (r: { items: readonly Item[]; problems: readonly Problem[] }) => {
    problems.push(...r.problems);
    return r.items;
  };
  const tracking = (i: Item) => ({
    ...(i.lot !== undefined ? { lot: i.lot } : {}),
    ...(i.serials !== undefined ? { serials: [...i.serials] } : {}),
  });

  if (ev.type === "TransformationEvent") {
    const docs = documentsOf(ev, false);
    const inputs = [
      ...collect(instanceItems(md, system, ev.inputEPCList, "inputEPCList", path, undefined)),
      ...collect(classItems(md, system, ev.inputQuantityList, "inputQuantityList", path, false)),
    ];
    const outputs = [
      ...collect(instanceItems(md, system, ev.outputEPCList, "outputEPCList", path, ilmdLot(ev))),
      ...collect(classItems(md, system, ev.outputQuantityList, "outputQuantityList", path, false)),
    ];
    build(inputs, (i) => ({
      kind: "consumeForProduction",
      quantity: i.quantity,
      ...tracking(i),
      documents: docs,
    }));
    const into = outputs.length > 0 ? needStatus() : undefined;
    if (into)
      build(outputs, (i) => ({
        kind: "recordProductionOutput",
        quantity: i.quantity,
        status: into,
        ...tracking(i),
        documents: docs,
      }));
    return finish(env, where.location, bodies, problems);
  }

  // ObjectEvent
  const action = ev.action ?? "OBSERVE";
  const bizStep = ev.bizStep === undefined ? undefined : cbvWord(ev.bizStep, "BizStep");
  const movement = objectMovement(action, bizStep, disposition, status);
  if (movement.kind === "none")
    return {
      commands: [],
      problems: [{ at: `${path}.bizStep`, value: ev.bizStep, reason: movement.reason }],
    };
  const lotOfNew = action === "ADD" ? ilmdLot(ev) : undefined;
  const items = [
    ...collect(instanceItems(md, system, ev.epcList, "epcList", path, lotOfNew)),
    ...collect(classItems(md, system, ev.quantityList, "quantityList", path, movement.kind === "count")),
  ];
  const docsIn = documentsOf(ev, false);
  const docsOut = documentsOf(ev, true);
  const needDesadv = (what: string, other: Location): string | undefined => {
    const desadv = docsIn.asn;
    if (desadv === undefined)
      problems.push({
        at: `${path}.bizTransactionList`,
        value: ev.bizTransactionList,
        reason: `a desadv bizTransaction naming the transfer: ${what} our location ${other.id} is a transfer, paired by its despatch advice`,
      });
    return desadv;
  };
  const sources = (ev.sourceList ?? []).map((s) => ({ type: s.type, id: s.source }));
  const destinations = (ev.destinationList ?? []).map((d) => ({ type: d.type, id: d.destination }));

  switch (movement.kind) {
    case "receipt": {
      if (disposition === "returned") {
        const into = status === "available" ? "available" : "inspection";
        build(items, (i) => ({
          kind: "receiveReturn",
          quantity: i.quantity,
          into,
          ...tracking(i),
          documents: docsIn,
        }));
        break;
      }
      const st = needStatus();
      if (!st) break;
      const origin = ourLocation(md, sources);
      if (origin && origin.id !== where.location?.id) {
        const transferOrder = needDesadv("a receipt from", origin);
        if (transferOrder === undefined) break;
        const o = { region: origin.region, location: origin.id };
        build(items, (i) => ({
          kind: "receiveTransfer",
          quantity: i.quantity,
          status: st,
          origin: o,
          ...tracking(i),
          documents: { ...docsIn, transferOrder },
        }));
        break;
      }
      build(items, (i) => ({
        kind: "receiveGoods",
        quantity: i.quantity,
        status: st,
        ...tracking(i),
        documents: docsIn,
      }));
      break;
    }
    case "shipment": {
      const destination = ourLocation(md, destinations);
      if (destination && destination.id !== where.location?.id) {
        const transferOrder = needDesadv("a shipment to", destination);
        if (transferOrder === undefined) break;
        const d = { region: destination.region, location: destination.id };
        build(items, (i) => ({
          kind: "shipTransfer",
          quantity: i.quantity,
          destination: d,
          ...tracking(i),
          documents: { ...docsOut, transferOrder },
        }));
        break;
      }
      build(items, (i) => ({
        kind: "postShipment",
        quantity: i.quantity,
        ...tracking(i),
        documents: docsOut,
      }));
      break;
    }
    case "pick":
      build(items, (i) => ({
        kind: "confirmPick",
        quantity: i.quantity,
        ...tracking(i),
        documents: docsOut,
      }));
      break;
    case "statusChange":
      build(items, (i) => ({
        kind: "changeStatus",
        quantity: i.quantity,
        fromStatus: movement.from,
        toStatus: movement.to,
        ...tracking(i),
        documents: docsIn,
      }));
      break;
    case "production": {
      const st = needStatus();
      if (st)
        build(items, (i) => ({
          kind: "recordProductionOutput",
          quantity: i.quantity,
          status: st,
          ...tracking(i),
          documents: docsIn,
        }));
      break;
    }
    case "adjustment":
      build(items, (i) => ({
        kind: "adjustStock",
        quantity: { value: movement.sign * i.quantity.value, uom: i.quantity.uom },
        reasonCode: movement.reasonCode,
        documents: docsIn,
      }));
      break;
    case "count": {
      // A count is per position (SKU at the location), whatever the lots: the items of a SKU are summed in its base unit.
      const bySku = new Map<string, { first: Item; total: number; uom: string }>();
      for (const i of items) {
        const base = toBaseQuantity(md.units, i.sku, i.quantity);
        if (E.isLeft(base)) {
          problems.push({ at: i.at, value: i.quantity, reason: base.left.message });
          continue;
        }
        const g = bySku.get(i.sku) ?? {
          first: i,
          total: 0,
          uom: unitsOf(md.units, i.sku)?.baseUom ?? i.quantity.uom,
        };
        g.total += base.right;
        bySku.set(i.sku, g);
      }
      for (const g of bySku.values())
        bodies.push({
          item: g.first,
          body: {
            kind: "recordCount",
            counted: { value: g.total, uom: g.uom },
            status: movement.status,
            documents: docsIn,
          },
        });
      break;
    }
  }
  return finish(env, where.location, bodies, problems);
};

/** Adds what every command carries and keeps only what decodes; the rest is a problem at the item. */
const finish = (
  env: Env,
  location: Location | undefined,
  bodies: readonly { item: Item; body: Body }[],
  problems: Problem[],
): EventCommands => {
  if (!location) return { commands: [], problems };
  const commands: Command[] = [];
  for (const { item, body } of bodies) {
    const { documents, ...rest } = body as Body & { documents?: Documents };
    const candidate = {
      ...rest,
      ...(documents && Object.keys(documents).length > 0 ? { documents } : {}),
      idempotencyKey: `${env.system}:${env.key}:${item.line}`,
      source: {
        system: env.system,
        document: { type: `EPCIS ${env.event.type}`, id: env.key, line: item.line },
      },
      businessTime: env.event.eventTime,
      correlationId: env.key,
      position: { sku: item.sku, location: location.id, region: location.region },
    };
    const decoded = decodeCommand(candidate);
    if (E.isRight(decoded)) commands.push(decoded.right);
    else
      problems.push({
        at: item.at,
        value: candidate,
        reason: `a valid ${body.kind} command: ${formatDecodeErrors(decoded.left)}`,
      });
  }
  return { commands, problems };
};

/**
 * Shared by the X12 connector tests: the samples folder (read, never copied), a small master data
 * mapping the samples' codes, and an envelope builder for documents constructed in the tests.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as E from "fp-ts/lib/Either.js";
import type { TranslationContext } from "../../connectors/translation.ts";
import { type Command, decodeCommand } from "../../domain/commands.ts";
import { indexMasterData } from "../../domain/master-data.ts";

export const SAMPLES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../../shared/samples/x12",
);
export const sample = (name: string): string => readFileSync(path.join(SAMPLES, name), "utf8");

/** GLNs with valid check digits. */
export const GLN_DC_ATL = "0614141000012";
export const GLN_DC_CHI = "0614141000029";

export const masterData = indexMasterData({
  locations: [
    {
      id: "ACME-WH",
      region: "us-east",
      name: "ACME WAREHOUSE",
      codes: {
        // The 944 sample names it by D-U-N-S+4 (qualifier 9), the 943 sample by the seller's code (91).
        "acme-3pl": { idQualifier: "9", id: "1234567890001" },
        "acme-erp": { idQualifier: "91", id: "ACME01" },
      },
    },
    { id: "DC-ATL", region: "us-east", gln: GLN_DC_ATL },
    {
      id: "DC-CHI",
      region: "us-central",
      gln: GLN_DC_CHI,
      codes: { "acme-erp": { idQualifier: "92", id: "CHI" } },
    },
  ],
  products: {
    items: [
      {
        sku: "SKU-123",
        baseUom: "EA",
        conversions: [{ uom: "CA", quantity: 12, of: "EA" }],
        codes: { "acme-3pl": "ITEM123", "acme-erp": "ITEM123" },
      },
      {
        sku: "SKU-LOT",
        baseUom: "EA",
        lotTracked: true,
        codes: { "acme-3pl": "LOTITEM", "acme-erp": "LOTITEM" },
      },
      { sku: "036000291452", baseUom: "EA" },
    ],
  },
  statuses: { "acme-3pl": { QH: "blocked" } },
});

export const RECEIVED_AT = "2026-07-14T12:30:00Z";
export const ctx = (system = "acme-3pl"): TranslationContext => ({
  system,
  masterData,
  receivedAt: RECEIVED_AT,
});

export const expectCanonical = (commands: readonly Command[]): void => {
  for (const c of commands) {
    const d = decodeCommand(c);
    if (E.isLeft(d)) throw new Error(`not canonical: ${JSON.stringify(c)}: ${JSON.stringify(d.left)}`);
  }
};

export interface EnvelopeOptions {
  readonly functionalId?: string;
  readonly version?: string;
  readonly control?: number;
  readonly element?: string;
  readonly terminator?: string;
  /** What follows each terminator: "\n" (default), "\r\n" or "". */
  readonly newline?: string;
  /** Overrides of the trailers, to build broken envelopes. */
  readonly seCount?: (counted: number, index: number) => string;
  readonly ieaControl?: string;
  readonly geCount?: string;
}

/**
 * An interchange with one group holding `sets` (each a list of segments between ST and SE, written
 * with `*` and no terminator: `W07*100*EA`), with the envelope counts right unless overridden.
 */
export const interchange = (sets: readonly (readonly string[])[], o: EnvelopeOptions = {}): string => {
  const el = o.element ?? "*";
  const term = o.terminator ?? "~";
  const nl = o.newline ?? "\n";
  const control = o.control ?? 905;
  const ctl9 = String(control).padStart(9, "0");
  const isa = [
    "ISA",
    "00",
    " ".repeat(10),
    "00",
    " ".repeat(10),
    "ZZ",
    "ACME3PL".padEnd(15),
    "ZZ",
    "STOCKLINE".padEnd(15),
    "260714",
    "1200",
    "U",
    "00401",
    ctl9,
    "0",
    "T",
    ">",
  ].join(el);
  const seg = (s: string) => s.replaceAll("*", el) + term + nl;
  let out = isa + term + nl;
  out += seg(
    `GS*${o.functionalId ?? "RE"}*ACME3PL*STOCKLINE*20260714*1200*${control}*X*${o.version ?? "004010"}`,
  );
  sets.forEach((body, i) => {
    const st = String(i + 1).padStart(4, "0");
    const setId = body[0] ?? "";
    out += seg(`ST*${setId}*${st}`);
    for (const s of body.slice(1)) out += seg(s);
    const counted = body.length - 1 + 2;
    out += seg(`SE*${o.seCount ? o.seCount(counted, i) : counted}*${st}`);
  });
  out += seg(`GE*${o.geCount ?? sets.length}*${control}`);
  out += seg(`IEA*1*${o.ieaControl ?? ctl9}`);
  return out;
};

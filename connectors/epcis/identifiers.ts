/**
 * GS1 identifiers as EPCIS 2.0 writes them (EPC URNs of the Tag Data Standard and GS1 Digital Link
 * URIs) reduced to what stockline maps through master data: a trade item's GTIN-14 with its lot or
 * serial, and a location's GLN. No maintained npm package parses these URNs (searched the registry's
 * list for epc/sgtin/gs1/digital-link), so the few patterns used by EPCIS events are read here.
 */

/** The GS1 mod-10 check digit of `digits` (the key without its check digit). */
export const gs1CheckDigit = (digits: string): number => {
  let sum = 0;
  // Weights 3,1,3,... from the rightmost digit.
  for (let i = 0; i < digits.length; i++)
    sum += Number(digits[digits.length - 1 - i]) * (i % 2 === 0 ? 3 : 1);
  return (10 - (sum % 10)) % 10;
};

const hasValidCheckDigit = (key: string): boolean =>
  /^\d+$/.test(key) && gs1CheckDigit(key.slice(0, -1)) === Number(key.at(-1));

/** A trade item: which GTIN, and the lot (class level) or serial (instance level) when named. */
export interface TradeItemId {
  readonly gtin: string;
  readonly lot?: string;
  readonly serial?: string;
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** Company prefix and indicator/item reference of an SGTIN/LGTIN URN to a GTIN-14 with its check digit. */
const gtinOfUrn = (companyPrefix: string, indicatorItemRef: string): Parsed<string> => {
  if (
    !/^\d+$/.test(companyPrefix) ||
    !/^\d+$/.test(indicatorItemRef) ||
    companyPrefix.length + indicatorItemRef.length !== 13
  )
    return fail("a company prefix and indicator/item reference of 13 digits together");
  const body = indicatorItemRef.slice(0, 1) + companyPrefix + indicatorItemRef.slice(1);
  return ok(body + gs1CheckDigit(body));
};

/** Decodes the percent-escapes the Tag Data Standard and Digital Link allow in lots and serials. */
const percentDecoded = (s: string): Parsed<string> => {
  try {
    return ok(decodeURIComponent(s));
  } catch {
    return fail("well-formed percent-escapes");
  }
};

const gtin14 = (gtin: string): Parsed<string> =>
  /^(\d{8}|\d{12}|\d{13}|\d{14})$/.test(gtin) && hasValidCheckDigit(gtin)
    ? ok(gtin.padStart(14, "0"))
    : fail("a GTIN of 8, 12, 13 or 14 digits with a valid check digit");

/** `https://<any host>/<path prefix>/01/<gtin>[/22/..][/10/<lot>][/21/<serial>]`: the primary key and qualifiers. */
const digitalLinkPath = (uri: string): Map<string, string> | undefined => {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  const parts = url.pathname.split("/").filter((p) => p.length > 0);
  // The first GS1 primary key in the path; anything before it is the resolver's own prefix.
  const start = parts.findIndex((p, i) => (p === "01" || p === "414" || p === "00") && i + 1 < parts.length);
  if (start < 0) return undefined;
  const pairs = new Map<string, string>();
  for (let i = start; i + 1 < parts.length; i += 2) pairs.set(parts[i] as string, parts[i + 1] as string);
  return pairs;
};

/**
 * An EPC of an object (epcList, inputEPCList, childEPCs): an SGTIN, `urn:epc:id:sgtin:CP.IIR.serial`
 * or `https://id.gs1.org/01/<gtin>[/10/<lot>]/21/<serial>`. Anything else (SSCC, GRAI, GIAI, ...) is
 * not a trade item: `undefined`.
 */
export const tradeItemOfEpc = (epc: string): Parsed<TradeItemId> | undefined => {
  const urn = /^urn:epc:id:sgtin:([^.]*)\.([^.]*)\.(.+)$/.exec(epc);
  if (urn) {
    const gtin = gtinOfUrn(urn[1] as string, urn[2] as string);
    const serial = percentDecoded(urn[3] as string);
    if (!gtin.ok) return gtin;
    if (!serial.ok) return serial;
    return ok({ gtin: gtin.value, serial: serial.value });
  }
  const dl = digitalLinkPath(epc);
  if (dl?.has("01") && dl.has("21")) {
    const gtin = gtin14(dl.get("01") as string);
    const serial = percentDecoded(dl.get("21") as string);
    const lot = dl.has("10") ? percentDecoded(dl.get("10") as string) : undefined;
    if (!gtin.ok) return gtin;
    if (!serial.ok) return serial;
    if (lot && !lot.ok) return lot;
    return ok({ gtin: gtin.value, serial: serial.value, ...(lot?.ok ? { lot: lot.value } : {}) });
  }
  return undefined;
};

/**
 * A class of objects (quantityList epcClass): `urn:epc:class:lgtin:CP.IIR.lot`, the pattern of all
 * serials of a GTIN `urn:epc:idpat:sgtin:CP.IIR.*`, or `https://id.gs1.org/01/<gtin>[/10/<lot>]`.
 * Anything else is not a trade item class: `undefined`.
 */
export const tradeItemOfClass = (epcClass: string): Parsed<TradeItemId> | undefined => {
  const lgtin = /^urn:epc:class:lgtin:([^.]*)\.([^.]*)\.(.+)$/.exec(epcClass);
  if (lgtin) {
    const gtin = gtinOfUrn(lgtin[1] as string, lgtin[2] as string);
    const lot = percentDecoded(lgtin[3] as string);
    if (!gtin.ok) return gtin;
    if (!lot.ok) return lot;
    return ok({ gtin: gtin.value, lot: lot.value });
  }
  const idpat = /^urn:epc:idpat:sgtin:([^.]*)\.([^.]*)\.\*$/.exec(epcClass);
  if (idpat) {
    const gtin = gtinOfUrn(idpat[1] as string, idpat[2] as string);
    return gtin.ok ? ok({ gtin: gtin.value }) : gtin;
  }
  const dl = digitalLinkPath(epcClass);
  if (dl?.has("01") && !dl.has("21")) {
    const gtin = gtin14(dl.get("01") as string);
    const lot = dl.has("10") ? percentDecoded(dl.get("10") as string) : undefined;
    if (!gtin.ok) return gtin;
    if (lot && !lot.ok) return lot;
    return ok({ gtin: gtin.value, ...(lot?.ok ? { lot: lot.value } : {}) });
  }
  return undefined;
};

/**
 * The GLN of a location id (bizLocation, readPoint, a source or destination of type location):
 * `urn:epc:id:sgln:CP.LocRef.ext` or `https://id.gs1.org/414/<gln>[/254/<ext>]`. The extension (a
 * door, a shelf) is not kept: stockline's locations are whole GLNs.
 */
export const glnOfLocation = (id: string): Parsed<string> => {
  const urn = /^urn:epc:id:sgln:(\d*)\.(\d*)\.(.*)$/.exec(id);
  if (urn) {
    const body = (urn[1] as string) + (urn[2] as string);
    if (body.length !== 12)
      return fail("an SGLN whose company prefix and location reference have 12 digits together");
    return ok(body + gs1CheckDigit(body));
  }
  const dl = digitalLinkPath(id);
  const gln = dl?.get("414");
  if (gln !== undefined)
    return /^\d{13}$/.test(gln) && hasValidCheckDigit(gln)
      ? ok(gln)
      : fail("a GLN of 13 digits with a valid check digit after /414/");
  return fail("an SGLN (urn:epc:id:sgln:...) or a GS1 Digital Link with /414/<GLN>");
};

/** GTIN-14 and the same number without its leading zeros as GTIN-13/12/8 (how master data may spell it). */
export const gtinSpellings = (gtin: string): string[] =>
  [14, 13, 12, 8].flatMap((n) => {
    const cut = gtin.slice(14 - n);
    return gtin.slice(0, 14 - n).replace(/0/g, "") === "" ? [cut] : [];
  });

/**
 * A CBV 2.0 vocabulary value as the bare word JSON-LD uses (`receiving`), whichever form was sent:
 * bare, `https://ref.gs1.org/cbv/BizStep-receiving`, or the EPCIS 1.x `urn:epcglobal:cbv:bizstep:receiving`.
 * Any other URI is a source's own value and is returned as it is.
 */
export const cbvWord = (value: string, kind: "BizStep" | "Disp" | "BTT" | "SDT" | "ER"): string => {
  const urnKind = { BizStep: "bizstep", Disp: "disp", BTT: "btt", SDT: "sdt", ER: "er" }[kind];
  for (const prefix of [`https://ref.gs1.org/cbv/${kind}-`, `urn:epcglobal:cbv:${urnKind}:`])
    if (value.startsWith(prefix)) return value.slice(prefix.length);
  return value;
};

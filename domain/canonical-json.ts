/**
 * Canonical JSON: object keys sorted, `undefined` members dropped. Two equal values always
 * serialise to the same bytes, which the audit hash chain and command fingerprints rely on.
 */
import { createHash } from "node:crypto";

export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value))
      throw new TypeError("non-finite number in canonical JSON");
    const s = JSON.stringify(value);
    return s === undefined ? "null" : s;
  }
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const members = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
  return `{${members.join(",")}}`;
};

export const sha256Hex = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");

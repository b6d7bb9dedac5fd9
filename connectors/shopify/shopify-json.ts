/**
 * Reading Shopify's JSON without losing digits: Shopify ids are 64-bit integers written as JSON
 * numbers (`"inventory_item_id": 271878346596884015`), beyond what a JavaScript number holds exactly
 * (2^53), so `JSON.parse` turns that id into 271878346596884000 and it maps to the wrong item or
 * none. `parseShopifyJson` keeps every integer outside the safe range as its decimal string.
 */
import { isInteger, isSafeNumber, parse } from "lossless-json";
import { fail, ok, type Read } from "../source-values.ts";

const td = new TextDecoder("utf-8", { fatal: true });

/** The document, with unsafe integers as strings; or why it cannot be read. */
export const parseShopifyJson = (raw: Uint8Array | string): Read<unknown> => {
  try {
    const text = typeof raw === "string" ? raw : td.decode(raw);
    return ok(
      parse(text, null, (digits) =>
        isSafeNumber(digits) ? Number(digits) : isInteger(digits) ? digits : Number(digits),
      ),
    );
  } catch (err) {
    return fail(`JSON (UTF-8): ${err instanceof Error ? err.message : String(err)}`);
  }
};

/**
 * A Shopify numeric id as its decimal string: a safe integer, a string of digits, or a GraphQL gid
 * (`gid://shopify/Location/24826418`). An unsafe JavaScript number is refused: its digits are gone.
 */
export const shopifyId = (raw: unknown): Read<string> => {
  if (typeof raw === "number") {
    if (Number.isSafeInteger(raw) && raw > 0) return ok(String(raw));
    return fail(
      Number.isInteger(raw)
        ? "an id read without losing digits (this one is beyond 2^53: parse the body with parseShopifyJson, not JSON.parse)"
        : "a Shopify id (a positive integer)",
    );
  }
  if (typeof raw === "string") {
    const m = /^(?:gid:\/\/shopify\/[A-Za-z]+\/)?([1-9]\d{0,19})(?:\?.*)?$/.exec(raw.trim());
    if (m?.[1]) return ok(m[1]);
  }
  return fail("a Shopify id (a positive integer)");
};

/** GraphQL global ids of the Admin API. */
export const inventoryItemGid = (id: string): string => `gid://shopify/InventoryItem/${id}`;
export const locationGid = (id: string): string => `gid://shopify/Location/${id}`;

/**
 * Shopify webhook authenticity: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw request
 * body under the app's client secret. It must be computed over the bytes as received: a body parsed
 * and serialized again (other spacing, key order, escapes) no longer matches, so a transport keeps
 * the raw body for this check. node:crypto computes; it does no I/O.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The header Shopify would send for `rawBody` (tests and the simulator's webhook sender sign with it). */
export const shopifyHmac = (rawBody: Uint8Array | string, secret: string): string =>
  createHmac("sha256", secret).update(rawBody).digest("base64");

/** Whether `header` is the HMAC of exactly these bytes; compared in constant time. */
export const verifyShopifyHmac = (rawBody: Uint8Array, header: string, secret: string): boolean => {
  if (typeof header !== "string" || header.length === 0 || secret.length === 0) return false;
  const expected = createHmac("sha256", secret).update(rawBody).digest();
  // A header that is not base64 of 32 bytes decodes to something else and fails the length check.
  const given = Buffer.from(header.trim(), "base64");
  return given.length === expected.length && timingSafeEqual(new Uint8Array(given), new Uint8Array(expected));
};

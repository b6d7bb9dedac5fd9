/**
 * The Shopify translators' answer: the canonical commands and untranslatable parts of every
 * connector, plus the parts that were read and deliberately yield nothing (an echo of stockline's own
 * push, an untracked item), each with its reason, so that the transport can log why a webhook moved
 * nothing instead of staying silent.
 */
import type { Translation, UntranslatablePart } from "../translation.ts";

export type IgnoredPart = UntranslatablePart;

export interface ShopifyTranslation extends Translation {
  readonly ignored: readonly IgnoredPart[];
}

export const shopifyTranslation = (
  parts: Partial<Pick<ShopifyTranslation, "commands" | "untranslatable" | "ignored">>,
): ShopifyTranslation => ({
  commands: parts.commands ?? [],
  untranslatable: parts.untranslatable ?? [],
  ignored: parts.ignored ?? [],
});

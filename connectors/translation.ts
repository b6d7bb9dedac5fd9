/**
 * What every connector's translator returns (DESIGN §3.15, issue 11): the canonical commands a native
 * document yields, and for each part that cannot be translated a dead letter naming the document, the
 * place in it (an X12 segment and element such as `W07-01`, an EPCIS `eventID` and JSON path, a SAP
 * item number) and the value. Nothing is guessed and nothing is dropped: a document that yields
 * neither a command nor a dead letter for a part has no such part.
 *
 * Translators are pure: they see the document and the distributor's master data (codes of locations,
 * products, statuses and units per source) and know nothing of NATS, HTTP or files.
 */
import type { Command } from "../domain/commands.ts";
import type { MasterData } from "../domain/master-data.ts";

export interface TranslationContext {
  /** The source system sending the document (`source.system` of every command; its codes map through master data). */
  readonly system: string;
  readonly masterData: MasterData;
  /** When the document was received (ISO); a document without its own business time uses it. */
  readonly receivedAt: string;
}

export interface UntranslatablePart {
  /** The document: its type (`X12 944`, `EPCIS ObjectEvent`, `SAP material document`) and id when it has one. */
  readonly document: { readonly type: string; readonly id?: string };
  /** Where in the document: `W07-01`, `$.epcisBody.eventList[2].quantityList[0].uom`, `to_MaterialDocumentItem[1].Plant`. */
  readonly at: string;
  /** The value found there (absent when the place is missing). */
  readonly value?: unknown;
  /** What was expected, or why it cannot be translated, for an operator: "a plant of SAP_S4 in master data (NL01, DE01)". */
  readonly reason: string;
}

export interface Translation {
  readonly commands: readonly Command[];
  readonly untranslatable: readonly UntranslatablePart[];
}

export const translation = (
  commands: readonly Command[] = [],
  untranslatable: readonly UntranslatablePart[] = [],
): Translation => ({ commands, untranslatable });

/** A whole document that cannot be read (not JSON, broken envelope): one untranslatable part. */
export const unreadable = (
  document: UntranslatablePart["document"],
  at: string,
  reason: string,
  value?: unknown,
): Translation => translation([], [{ document, at, reason, ...(value === undefined ? {} : { value }) }]);

/**
 * Validation of EPCIS 2.0 JSON against GS1's EPCIS JSON Schema (draft-07, `EPCIS-JSON-Schema.json`)
 * with Ajv. The schema is not bundled: its redistribution terms are unclear (see
 * ../shared/samples/epcis/SOURCES.md), so the caller loads it (a transport reads the file named in
 * its configuration) and hands it to `compileEpcisSchema` once; the translator takes the result.
 */
import { Ajv, type ErrorObject } from "ajv";
import addFormatsPlugin from "ajv-formats";

/** One schema violation: where (a JSON path such as `$.epcisBody.eventList[0].quantityList[0].quantity`) and why. */
export interface SchemaProblem {
  readonly at: string;
  /** The JSON pointer of the same place (`/epcisBody/eventList/0/...`), to tell which event it is in. */
  readonly pointer: readonly string[];
  readonly reason: string;
}

export interface EpcisSchema {
  /** The problems of `document` against the schema; empty when it is valid. */
  validate(document: unknown): readonly SchemaProblem[];
}

// ajv-formats is CommonJS with `exports.default`; under NodeNext its default import is the module object.
const addFormats = ((addFormatsPlugin as unknown as { default?: unknown }).default ?? addFormatsPlugin) as (
  ajv: Ajv,
) => Ajv;

const segmentsOf = (pointer: string): string[] =>
  pointer === ""
    ? []
    : pointer
        .slice(1)
        .split("/")
        .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));

/** `["epcisBody","eventList","0","example:x"]` -> `$.epcisBody.eventList[0]['example:x']`. */
export const jsonPathOf = (segments: readonly string[]): string =>
  segments.reduce(
    (path, s) =>
      /^\d+$/.test(s)
        ? `${path}[${s}]`
        : /^[A-Za-z_$@][\w$@]*$/.test(s)
          ? `${path}.${s}`
          : `${path}[${JSON.stringify(s).replace(/^"|"$/g, "'")}]`,
    "$",
  );

const BARE_ANY_OF = "must match one of the schema's alternatives";

const describe = (e: ErrorObject, branches: readonly ErrorObject[]): string => {
  if (e.keyword === "anyOf") {
    // The branches' missing members say what would have satisfied it ("one of epcList, quantityList, ...").
    const missing = [
      ...new Set(
        branches.flatMap((b) => (b.keyword === "required" ? [String(b.params.missingProperty)] : [])),
      ),
    ];
    const others = branches
      .filter((b) => b.keyword !== "required" && b.instancePath === e.instancePath)
      .map((b) => b.message ?? b.keyword);
    const parts = [
      ...(missing.length > 0 ? [`one of the members ${missing.join(", ")}`] : []),
      ...[...new Set(others)],
    ];
    return parts.length > 0
      ? `must match one of the schema's alternatives: ${parts.join("; or ")}`
      : "must match one of the schema's alternatives";
  }
  if (e.keyword === "required") return `must have the member ${String(e.params.missingProperty)}`;
  if (e.keyword === "enum")
    return `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
  return e.message ?? e.keyword;
};

/**
 * Compiles GS1's EPCIS JSON Schema. Throws when `schema` is not a schema Ajv can compile (a
 * configuration error, found at start-up).
 */
export const compileEpcisSchema = (schema: unknown): EpcisSchema => {
  // allErrors: every violation of an event is reported, not only the first of the document.
  // strict: false: the GS1 schema uses keywords and formats beyond Ajv's strict subset.
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(schema as object);
  return {
    validate(document) {
      if (validate(document)) return [];
      const errors = validate.errors ?? [];
      // `if`/`then` wrappers repeat what their branch said; the branches of an anyOf are folded into it.
      const anyOfs = errors.filter((e) => e.keyword === "anyOf");
      const branchesOf = (a: ErrorObject) =>
        errors.filter(
          (e) =>
            e !== a &&
            (e.instancePath === a.instancePath || e.instancePath.startsWith(`${a.instancePath}/`)) &&
            e.schemaPath.startsWith(`${a.schemaPath}/`),
        );
      const folded = new Set(anyOfs.flatMap(branchesOf));
      const seen = new Set<string>();
      const problems: SchemaProblem[] = [];
      for (const e of errors) {
        if (e.keyword === "if" || folded.has(e)) continue;
        const pointer = segmentsOf(e.instancePath);
        const at = jsonPathOf(pointer);
        const reason = describe(e, e.keyword === "anyOf" ? branchesOf(e) : []);
        const key = `${at}\u0000${reason}`;
        if (seen.has(key)) continue;
        seen.add(key);
        problems.push({ at, pointer, reason });
      }
      // An alternative failed because of a violation named below it (or had no reason of its own): that
      // violation is the one to fix.
      const isAnyOf = (p: SchemaProblem) => p.reason.startsWith(BARE_ANY_OF);
      return problems.filter(
        (p) =>
          !isAnyOf(p) ||
          !problems.some(
            (q) =>
              !isAnyOf(q) &&
              q.pointer.length > p.pointer.length &&
              p.pointer.every((seg, i) => q.pointer[i] === seg),
          ),
      );
    },
  };
};

/**
 * The fields of an io-ts codec, walked from its structure: every path (`regions[].nats.servers`),
 * whether it is required, and what it expects (the leaf codec's name, which is written for a reader).
 * The configuration reference is rendered from this walk, so it cannot drift from what is decoded.
 */
import type * as t from "io-ts";

export interface CodecField {
  /** `a.b[].c`, `<key>` for a record's keys. */
  readonly path: string;
  readonly required: boolean;
  /** What a value must be: a leaf's name, `object`, `list of ...`, an enumeration, or alternatives. */
  readonly expected: string;
  /** The path where the same shape was described first (its fields are listed there only). */
  readonly sameAs?: string;
}

type Walkable = t.Mixed & {
  readonly _tag?: string;
  readonly props?: t.Props;
  readonly types?: readonly t.Mixed[];
  readonly type?: t.Mixed;
  readonly codomain?: t.Mixed;
  readonly keys?: Record<string, unknown>;
  readonly value?: unknown;
};

const isObjectish = (c: Walkable): boolean =>
  c._tag === "InterfaceType" ||
  c._tag === "PartialType" ||
  c._tag === "StrictType" ||
  (c._tag === "IntersectionType" && (c.types ?? []).every((x) => isObjectish(x as Walkable)));

const summary = (codec: Walkable): string => {
  switch (codec._tag) {
    case "InterfaceType":
    case "PartialType":
    case "StrictType":
    case "IntersectionType":
      return isObjectish(codec) ? "object" : codec.name;
    case "ArrayType":
    case "ReadonlyArrayType":
      return `list of ${summary(codec.type as Walkable)}`;
    case "DictionaryType":
      return `map of ${summary(codec.codomain as Walkable)}`;
    case "KeyofType":
      return `one of ${Object.keys(codec.keys ?? {})
        .map((k) => JSON.stringify(k))
        .join(", ")}`;
    case "LiteralType":
      return JSON.stringify(codec.value);
    case "BooleanType":
      return "true or false";
    case "NumberType":
      return "a number";
    case "StringType":
      return "a string";
    case "UnionType":
      return (codec.types ?? []).every((x) => isObjectish(x as Walkable))
        ? "one of the shapes below"
        : (codec.types ?? []).map((x) => summary(x as Walkable)).join(" or ");
    default:
      return codec.name;
  }
};

/** The `kind` literal that tells the alternatives of a union of objects apart, when there is one. */
const discriminant = (codec: Walkable): string | undefined => {
  const literal = (c: Walkable): string | undefined => {
    if (c._tag === "InterfaceType" || c._tag === "StrictType") {
      for (const [k, v] of Object.entries(c.props ?? {}))
        if ((v as Walkable)._tag === "LiteralType") return `${k}=${JSON.stringify((v as Walkable).value)}`;
    }
    if (c._tag === "IntersectionType") for (const x of c.types ?? []) return literal(x as Walkable);
    return undefined;
  };
  return literal(codec);
};

/**
 * `shapes` remembers where each object shape was first described, so a shape used in several places
 * (the `nats` block of every part) is listed once and referred to elsewhere.
 */
export const codecFields = (
  codec: t.Mixed,
  prefix = "",
  required = true,
  shapes: Map<t.Mixed, string> = new Map(),
): CodecField[] => {
  const c = codec as Walkable;
  const out: CodecField[] = [];
  const walkProps = (props: t.Props, req: boolean) => {
    for (const [key, sub] of Object.entries(props)) {
      const p = prefix ? `${prefix}.${key}` : key;
      const first = shapes.get(sub);
      if (first !== undefined) {
        out.push({ path: p, required: req, expected: summary(sub as Walkable), sameAs: first });
        continue;
      }
      if (isObjectish(sub as Walkable)) shapes.set(sub, p);
      out.push({ path: p, required: req, expected: summary(sub as Walkable) });
      out.push(...codecFields(sub, p, req, shapes).filter((f) => f.path !== p));
    }
  };
  switch (c._tag) {
    case "InterfaceType":
    case "StrictType":
      walkProps(c.props ?? {}, true);
      break;
    case "PartialType":
      walkProps(c.props ?? {}, false);
      break;
    case "IntersectionType":
      for (const x of c.types ?? []) out.push(...codecFields(x, prefix, required, shapes));
      break;
    case "ArrayType":
    case "ReadonlyArrayType":
      out.push(...codecFields(c.type as t.Mixed, `${prefix}[]`, true, shapes));
      break;
    case "DictionaryType":
      out.push(...codecFields(c.codomain as t.Mixed, `${prefix}.<key>`, true, shapes));
      break;
    case "UnionType": {
      const alternatives = c.types ?? [];
      if (alternatives.every((x) => isObjectish(x as Walkable)))
        alternatives.forEach((x, i) => {
          const tag = discriminant(x as Walkable) ?? `shape ${i + 1}`;
          for (const f of codecFields(x, prefix, required, shapes))
            out.push({ ...f, path: `${f.path} (${tag})` });
        });
      break;
    }
    default:
      break;
  }
  // A path reached twice (an intersection repeating a key) is listed once, the first time.
  const seen = new Set<string>();
  return out.filter((f) => {
    if (seen.has(f.path)) return false;
    seen.add(f.path);
    return true;
  });
};

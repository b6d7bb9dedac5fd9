/** A string codec with a length limit, as the field lengths of the real ERP systems impose. */
import * as t from "io-ts";

/** `name` is the "expected ..." of a decoding error; a string of the wrong length also says its length. */
export const boundedString = (name: string, maxLength: number, minLength = 0) =>
  new t.Type<string, string, unknown>(
    name,
    (u): u is string => typeof u === "string" && u.length <= maxLength && u.length >= minLength,
    (u, c) =>
      typeof u === "string" && u.length <= maxLength && u.length >= minLength
        ? t.success(u)
        : t.failure(
            u,
            c,
            typeof u === "string"
              ? `${minLength}..${maxLength} characters (${name}), not ${u.length}`
              : undefined,
          ),
    t.identity,
  );

/**
 * How the simulated Dynamics 365 Inventory Visibility service refuses a request: an HTTP status, a
 * message and, for an invalid body, the fields at fault (answered as ASP.NET problem details).
 */
import type * as t from "io-ts";
import { type DecodeError, formatDecodeErrors, toDecodeErrors } from "../../domain/decode-errors.ts";

export class D365Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: readonly DecodeError[],
  ) {
    super(message);
  }
}

/** The decoded body, or a 400 refusal naming each field, its value and what was expected. */
export const decodeOrRefuse = <A>(codec: t.Decoder<unknown, A>, value: unknown, what: string): A => {
  const decoded = codec.decode(value);
  if (decoded._tag === "Right") return decoded.right;
  const errors = toDecodeErrors(decoded.left, { arrayIndex: "brackets" });
  throw new D365Refusal(400, `Invalid ${what}: ${formatDecodeErrors(errors)}`, errors);
};

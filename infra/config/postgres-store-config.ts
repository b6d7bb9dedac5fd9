/**
 * The PostgreSQL event store in a configuration (a node's `store`, a region's `store`):
 * `{ kind: "postgres", url, schema? }`. Several regions may share one server: each region's store
 * is its own schema, `stockline_<region>` unless named.
 */
import * as t from "io-ts";
import { NonEmptyStringC } from "../../domain/scalars.ts";
import { isSchemaName } from "../event-store/postgres-schema.ts";

const SchemaNameC = new t.Type<string, string, unknown>(
  "a schema name (lower-case letters, digits and _, not starting with a digit, at most 63)",
  isSchemaName,
  (u, c) => (isSchemaName(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

export const PostgresStoreC = t.intersection([
  t.type({ kind: t.literal("postgres"), url: NonEmptyStringC }),
  t.partial({ schema: SchemaNameC }),
]);

/** The schema of a region's store when the configuration names none. */
export const defaultPostgresSchema = (region: string): string => `stockline_${region.replaceAll("-", "_")}`;

/** A store URL for logs and ready lines: the password, if any, replaced. */
export const redactStoreUrl = (url: string): string => {
  try {
    const u = new URL(url);
    if (u.password === "") return url;
    u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@");
  }
};

/**
 * The machine's PostgreSQL for tests (started by `make test`; nothing is started here): a fresh
 * schema per test file, dropped after. STOCKLINE_TEST_POSTGRES_URL overrides the server.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const TEST_POSTGRES_URL =
  process.env.STOCKLINE_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A schema name no other test file uses. */
export const freshSchemaName = (label: string): string =>
  `t_${label.replace(/[^a-z0-9_]/g, "_").slice(0, 30)}_${process.pid}_${randomBytes(4).toString("hex")}`;

/** Runs SQL on a short-lived connection (tests' own look behind the store). */
export const withClient = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
};

export const dropSchema = (schema: string): Promise<void> =>
  withClient(async (c) => {
    await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  });

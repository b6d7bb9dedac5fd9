/**
 * The machine's PostgreSQL for `make bench` (the peer, and the node on the PostgreSQL store): a fresh
 * database per run, dropped after. `BENCH_POSTGRES_URL` names the server (a URL to its maintenance
 * database; default `postgres://postgres@127.0.0.1:5432/postgres`, trust auth).
 */
import pg from "pg";

export const DEFAULT_BENCH_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres";

const withClient = async <T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
};

/** `undefined` when the server answers, else why not (for the run's JSON and table). */
export const postgresUnreachable = async (url: string): Promise<string | undefined> => {
  try {
    await withClient(url, (c) => c.query("select 1"));
    return undefined;
  } catch (err) {
    return `PostgreSQL not reachable at ${redact(url)}: ${err instanceof Error ? err.message : String(err)}`;
  }
};

const redact = (url: string): string => url.replace(/:[^:@/]*@/, ":***@");

/** The URL of database `name` on the server of `url`. */
export const databaseUrl = (url: string, name: string): string => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

export const createDatabase = async (url: string, name: string): Promise<string> => {
  await withClient(url, (c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  return databaseUrl(url, name);
};

/** Drops the database, ending any session still in it (PostgreSQL 13+ `WITH (FORCE)`). */
export const dropDatabase = async (url: string, name: string): Promise<void> => {
  await withClient(url, (c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
};

/**
 * Runs `fn` with the URL of a fresh database `name`, dropped after (a failure to drop is logged, not
 * thrown, so it never hides the run's own result or error).
 */
export const withFreshDatabase = async <T>(
  url: string,
  name: string,
  log: (msg: string) => void,
  fn: (dbUrl: string) => Promise<T>,
): Promise<T> => {
  const dbUrl = await createDatabase(url, name);
  try {
    return await fn(dbUrl);
  } finally {
    await dropDatabase(url, name).catch((err: unknown) => log(`could not drop ${name}: ${String(err)}`));
  }
};

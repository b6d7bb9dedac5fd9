/**
 * The NATS of `stockline up` in managed mode: a local hub and one server per region (real
 * nats-server processes, infra/nats/topology.ts), secured by default with the users of
 * `securityOf(config)`. What the parts need to reach it is written under `<dataDir>/up/`:
 *
 * - `config.json`: the configuration with the servers' URLs filled in (what every part reads);
 * - `credentials/<part>.json`: each part's credentials, by server (`stockline part` reads the file
 *   named by STOCKLINE_PART_CREDENTIALS; only what that part needs, mode 0600);
 * - `nats.json`: the servers and every user's credentials (password files), for the drivers that
 *   speak as a source system (a WMS connector, the demo feed, tests).
 *
 * The servers' stores live in the run's folder and are removed when `up` stops: a managed topology
 * starts empty, so `up` starts its parts from an empty data folder too.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { DistributorConfig } from "../../infra/config/distributor-config.ts";
import { HUB_USERS, natsUserOf, nodeUserOf, securityOf } from "../../infra/config/distributor-parts.ts";
import type { NatsAuth } from "../../infra/config/nats-auth.ts";
import { HUB_DOMAIN, startTopology, type Topology } from "../../infra/nats/topology.ts";

/** How a driver reaches the deployment's NATS (written to `nats.json`). */
export interface ConnectionInfo {
  readonly hub: { readonly servers: readonly string[]; readonly domain: string };
  readonly regions: Readonly<Record<string, { readonly servers: readonly string[] }>>;
  /** `<server>/<user>` (server `hub` or a region; user a system's, `node-<r>`, `api`, ...). */
  readonly users: Readonly<Record<string, NatsAuth>>;
}

export interface ManagedNats {
  readonly topology: Topology;
  /** The configuration the parts read. */
  readonly configFile: string;
  readonly connectionFile: string;
  readonly connection: ConnectionInfo;
  /** The credentials file of a part (undefined on an open topology or for a part without NATS). */
  credentialsOf(part: PartRole): string | undefined;
}

export type PartRole =
  | { readonly kind: "node" | "projector"; readonly region: string }
  | { readonly kind: "global" | "api" | "reconciler" | "postings" | "simulator" | "connectors" };

const writePrivate = (file: string, value: unknown): void => {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
};

/** Users every system that publishes has, per server: on each region it may send to. */
const sourceUsers = (d: DistributorConfig): Array<{ server: string; user: string }> =>
  d.file.systems
    .filter((s) => s.kind !== "channel")
    .flatMap((s) => (s.regions ?? d.regions).map((r) => ({ server: r, user: natsUserOf(s.id) })));

/**
 * The connectors part speaks as each connector source (dead letters as the region's node); a channel
 * (a Shopify shop) has no user of its own: channels send as the API's user (securityOf).
 */
const connectorUsers = (d: DistributorConfig) => {
  const sources = new Set((d.file.connectors?.sources ?? []).map((c) => c.system));
  const own = sourceUsers(d).filter(({ user }) =>
    d.file.systems.some((s) => sources.has(s.id) && natsUserOf(s.id) === user),
  );
  const channels = d.file.systems.some((s) => s.kind === "channel" && sources.has(s.id));
  return channels ? [...own, ...d.regions.map((server) => ({ server, user: HUB_USERS.api }))] : own;
};

export const startManagedNats = async (
  d: DistributorConfig,
  opts: { readonly dir: string; readonly logger: Logger },
): Promise<ManagedNats> => {
  if (d.hubDomain !== HUB_DOMAIN)
    throw new Error(
      `nats.hubDomain: got ${JSON.stringify(d.hubDomain)}, expected "${HUB_DOMAIN}" in managed mode (the local hub's domain); use nats.mode "external" for another`,
    );
  const secured = d.file.nats?.secured ?? true;
  const topology = await startTopology({
    regions: d.regions,
    baseDir: path.join(d.dataDir, "nats"),
    cuttableLinks: false,
    logger: opts.logger.child({ component: "topology" }),
    ...(secured ? { security: securityOf(d) } : {}),
  });
  try {
    const creds = topology.credentials;
    const file = structuredClone(d.file);
    const runtime = {
      ...file,
      dataDir: d.dataDir,
      regions: file.regions.map((r) => ({ ...r, nats: { servers: [topology.regions[r.id]!.url] } })),
      nats: { ...file.nats, mode: "external", hub: { servers: [topology.hub.url] }, hubDomain: HUB_DOMAIN },
      ...(file.api ? { api: { ...file.api, nats: { servers: [topology.hub.url] } } } : {}),
    };
    const configFile = path.join(opts.dir, "config.json");
    writePrivate(configFile, runtime);

    const users: Record<string, NatsAuth> = {};
    if (creds) {
      for (const r of d.regions) users[`${r}/${nodeUserOf(r)}`] = creds.auth(r, nodeUserOf(r));
      for (const u of Object.values(HUB_USERS)) users[`hub/${u}`] = creds.auth(HUB_DOMAIN, u);
      for (const { server, user } of sourceUsers(d)) users[`${server}/${user}`] = creds.auth(server, user);
    }
    const connection: ConnectionInfo = {
      hub: { servers: [topology.hub.url], domain: HUB_DOMAIN },
      regions: Object.fromEntries(d.regions.map((r) => [r, { servers: [topology.regions[r]!.url] }])),
      users,
    };
    const connectionFile = path.join(opts.dir, "nats.json");
    writePrivate(connectionFile, connection);

    const files = new Map<string, string>();
    const credentialsOf = (part: PartRole): string | undefined => {
      if (!creds) return undefined;
      const name = "region" in part ? `${part.kind}-${part.region}` : part.kind;
      const known = files.get(name);
      if (known) return known;
      const node = (r: string) => [r, creds.auth(r, nodeUserOf(r))] as const;
      const hub = (role: string) => [`hub:${role}`, creds.auth(HUB_DOMAIN, role)] as const;
      const entries =
        "region" in part
          ? [node(part.region)]
          : part.kind === "global"
            ? [hub(HUB_USERS.projector)]
            : part.kind === "reconciler"
              ? [hub(HUB_USERS.reconciler)]
              : part.kind === "postings"
                ? d.regions.map(node)
                : part.kind === "api"
                  ? [hub(HUB_USERS.api), hub(HUB_USERS.reconciler), ...d.regions.map(node)]
                  : part.kind === "connectors"
                    ? [
                        ...d.regions.map(node),
                        // A Shopify push reads global ATP (atp_global) on the hub, as the API does.
                        ...((d.file.connectors?.sources ?? []).some((s) => s.shopify?.push)
                          ? [hub(HUB_USERS.api)]
                          : []),
                        ...connectorUsers(d).map(
                          ({ server, user }) => [`${server}:${user}`, creds.auth(server, user)] as const,
                        ),
                      ]
                    : [];
      if (entries.length === 0) return undefined;
      const f = path.join(opts.dir, "credentials", `${name}.json`);
      writePrivate(f, Object.fromEntries(entries));
      files.set(name, f);
      return f;
    };
    return { topology, configFile, connectionFile, connection, credentialsOf };
  } catch (err) {
    await topology.stop();
    throw err;
  }
};

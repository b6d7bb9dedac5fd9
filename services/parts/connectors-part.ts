/**
 * `stockline part connectors --config <file>`: the transports of the configuration's connector
 * sources (issue 11, `connectors.sources[]`): `POST /v1/inbound/<system>` for every source with
 * `http` (default on; API keys of `api.keys` bound to the system, checked here with the key ring: no
 * per-key rate limit on this endpoint; a Shopify source by the webhook's signature under the secret in
 * `shopify.secretEnv`), and a watched drop folder for every
 * source with `dropFolder`. Documents are translated through the master data (services/connectors/
 * registry.ts); commands go to each region's intake as the source system, untranslatable parts to
 * the region's dead letters (services/connectors/inbound-sender.ts).
 *
 * NATS: the part speaks as each source system (on a secured topology with that system's user: the
 * credentials file's `<region>:<user>` entry, else the system's own `systems[].nats`, else the
 * region's block) and publishes dead letters as the region's node user (`<region>` entry), as the
 * posting workers do. A channel (a Shopify shop) has no user of its own: it sends as the API's user.
 *
 * A Shopify source with `shopify.push` also gets availability pushed to its shop: global ATP read from
 * `atp_global` on the hub (as the API's user), fed to a ShopifyPush (services/channels/shopify-push.ts).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { TranslationContext } from "../../connectors/translation.ts";
import { ConfigError } from "../../infra/config/config-loading.ts";
import type { DistributorConfig } from "../../infra/config/distributor-config.ts";
import { HUB_USERS, natsUserOf } from "../../infra/config/distributor-parts.ts";
import { natsAuthOf } from "../../infra/config/nats-auth.ts";
import { ApiKeyRing, resolveApiKeys } from "../../infra/http/api-keys.ts";
import { createHttpServer } from "../../infra/http/http-server.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { channelFigureFromStores, pushFromGlobalAtp, ShopifyPush } from "../channels/shopify-push.ts";
import { DropFolder } from "../connectors/drop-folder.ts";
import { type InboundRoute, registerInboundRoutes } from "../connectors/inbound-routes.ts";
import { type InboundConnections, InboundSender } from "../connectors/inbound-sender.ts";
import { translatorOf } from "../connectors/registry.ts";
import { GlobalAtpReader } from "../projectors/global-atp-reader.ts";
import type { PartContext } from "./part-runtime.ts";
import { type OpenedStore, openRegionStore } from "./region-stores.ts";

export const DEFAULT_CONNECTORS_PORT = 8081;

export interface ConnectorsDeps {
  readonly log: Logger;
  readonly connections: InboundConnections;
  readonly env?: NodeJS.ProcessEnv;
  /** Keys in clear (`api.keys[].key`): configurations built in a program (tests) only. */
  readonly allowClearKeys?: boolean;
  readonly settleMs?: number;
  readonly rescanMs?: number;
}

export interface RunningConnectors {
  /** Base URL of `POST /v1/inbound/<system>` (undefined when no source takes HTTP). */
  readonly url: string | undefined;
  readonly folders: ReadonlyMap<string, DropFolder>;
  stop(): Promise<void>;
}

/** Starts the connector transports of `d` (throws a ConfigError for a missing schema file or a bad key). */
export const startConnectors = async (
  d: DistributorConfig,
  deps: ConnectorsDeps,
): Promise<RunningConnectors> => {
  const { log } = deps;
  const sources = d.file.connectors?.sources ?? [];
  const context = (system: string, receivedAt: string): TranslationContext => ({
    system,
    masterData: d.masterData,
    receivedAt,
  });
  const homeRegionOf = (system: string): string =>
    d.file.systems.find((s) => s.id === system)?.regions?.[0] ?? (d.regions[0] as string);
  const sender = new InboundSender(deps.connections, homeRegionOf, log.child({ component: "inbound" }));
  const translators = new Map(sources.map((s) => [s.system, translatorOf(s)]));

  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch((err) => log.warn({ err }, "stopping"));
  };
  try {
    const folders = new Map<string, DropFolder>();
    for (const s of sources) {
      if (!s.dropFolder) continue;
      const folder = new DropFolder({
        system: s.system,
        format: s.format,
        folder: s.dropFolder,
        translate: translators.get(s.system)!,
        context: (receivedAt) => context(s.system, receivedAt),
        sender,
        log: log.child({ component: "drop-folder", system: s.system }),
        ...(deps.settleMs !== undefined ? { settleMs: deps.settleMs } : {}),
        ...(deps.rescanMs !== undefined ? { rescanMs: deps.rescanMs } : {}),
      });
      await folder.start();
      stops.push(() => folder.stop());
      folders.set(s.system, folder);
    }

    const env = deps.env ?? process.env;
    const routes = new Map<string, InboundRoute>();
    for (const s of sources) {
      if (s.http === false) continue;
      const translate = translators.get(s.system)!;
      const secretEnv = s.shopify?.secretEnv;
      if (s.format !== "shopify" || !secretEnv) {
        routes.set(s.system, { system: s.system, translate });
        continue;
      }
      const secret = env[secretEnv];
      if (!secret)
        throw new ConfigError(
          d.source,
          [
            {
              path: `connectors.sources.${sources.indexOf(s)}.shopify.secretEnv`,
              value: secretEnv,
              expected: `the environment variable ${secretEnv} set to the Shopify app's secret`,
              message: `connectors.sources.${sources.indexOf(s)}.shopify.secretEnv: ${secretEnv} is not set`,
            },
          ],
          "distributor configuration",
        );
      routes.set(s.system, { system: s.system, translate, shopifySecret: secret });
    }
    let url: string | undefined;
    if (routes.size > 0) {
      const keys = resolveApiKeys(d.file.api?.keys ?? [], {
        env,
        allowClear: deps.allowClearKeys ?? false,
        field: "api.keys",
      });
      if (keys.errors.length > 0) throw new ConfigError(d.source, keys.errors, "distributor configuration");
      const app = await createHttpServer({
        title: "stockline connectors",
        version: d.version,
        logger: log.child({ component: "http" }),
      });
      const ring = new ApiKeyRing(keys.keys, d.file.api?.rateLimit ?? { max: 1_000, windowMs: 1_000 });
      await registerInboundRoutes(app, { sources: routes, sender, context, keys: ring });
      const http = d.file.connectors?.http;
      await app.listen({ host: http?.host ?? "127.0.0.1", port: http?.port ?? DEFAULT_CONNECTORS_PORT });
      stops.push(() => app.close());
      const address = app.server.address();
      url =
        typeof address === "object" && address
          ? `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`
          : undefined;
    }
    return { url, folders, stop };
  } catch (err) {
    await stop();
    throw err;
  }
};

export const startConnectorsPart = async (ctx: PartContext): Promise<Record<string, unknown>> => {
  const { d } = ctx;
  const systemNats = (system: string) => d.file.systems.find((s) => s.id === system)?.nats;
  const connections: InboundConnections = {
    source: (region, system): Promise<NatsConnection> => {
      const own = systemNats(system);
      const name = `stockline-connectors-${system}-${region}`;
      // A channel has no NATS user of its own: channels send as the API's user (securityOf), here
      // on the region's server (ctx.connect's "api" role would mean the API's servers, the hub's).
      const channel = d.file.systems.find((s) => s.id === system)?.kind === "channel";
      if (!own && !channel) return ctx.connect(region, name, natsUserOf(system));
      return connectNats({
        servers: own?.servers ?? ctx.serversOf(region),
        name,
        auth: own ? natsAuthOf(own, d.source, `systems.${system}.nats`) : ctx.authOf(region, HUB_USERS.api),
        logger: ctx.log,
      }).then((nc) => {
        ctx.defer(`connection ${name}`, () => nc.drain());
        return nc;
      });
    },
    deadLetters: (region) => ctx.connect(region, `stockline-connectors-dlq-${region}`),
  };
  const running = await startConnectors(d, { log: ctx.log, connections });
  ctx.defer("connectors", () => running.stop());
  const pushes = await startShopifyPushes(ctx);
  return {
    ...(running.url ? { url: running.url } : {}),
    ...(pushes.length > 0 ? { shopifyPush: pushes } : {}),
    sources: (d.file.connectors?.sources ?? []).map((s) => `${s.system}:${s.format}`),
    folders: [...running.folders.keys()],
  };
};

/**
 * Shopify sources with `shopify.push`: global ATP (`atp_global` on the hub, as the API reads it) of
 * every SKU-location the shop sells is pushed to the shop (`ShopifyPush`: coalesced per SKU, paced
 * by Shopify's cost bucket, retried). Returns the systems pushed to.
 */
const startShopifyPushes = async (ctx: PartContext): Promise<string[]> => {
  const { d, log } = ctx;
  const sources = (d.file.connectors?.sources ?? []).filter((s) => s.shopify?.push);
  if (sources.length === 0) return [];
  // Each shop is sent its channel's own figure, read from the positions' streams (its rules and use).
  const stores: OpenedStore[] = [];
  for (const region of d.regions) {
    const s = await openRegionStore(d, region, log);
    ctx.defer(`event store ${region}`, () => s.close());
    stores.push(s);
  }
  const figureOf = channelFigureFromStores(stores);
  const pushes = sources.map((s) => {
    const i = (d.file.connectors?.sources ?? []).indexOf(s);
    const { graphqlUrl, accessTokenEnv } = s.shopify!.push!;
    const accessToken = process.env[accessTokenEnv];
    if (!accessToken)
      throw new ConfigError(
        d.source,
        [
          {
            path: `connectors.sources.${i}.shopify.push.accessTokenEnv`,
            value: accessTokenEnv,
            expected: `the environment variable ${accessTokenEnv} set to the shop's Admin API access token`,
            message: `connectors.sources.${i}.shopify.push.accessTokenEnv: ${accessTokenEnv} is not set`,
          },
        ],
        "distributor configuration",
      );
    return new ShopifyPush({
      system: s.system,
      masterData: d.masterData,
      graphqlUrl,
      accessToken,
      figureOf,
      logger: log.child({ component: "shopify-push", system: s.system }),
    });
  });
  const reader = new GlobalAtpReader({
    nc: await ctx.connect("hub", "stockline-connectors-atp", HUB_USERS.api),
    hubDomain: d.hubDomain,
    regions: d.regions,
    logger: log.child({ component: "global-atp-reader" }),
  });
  // Subscribed before the bucket is loaded: what it holds now is pushed too (a restart sets every level).
  for (const push of pushes) {
    const unsubscribe = pushFromGlobalAtp(push, reader);
    ctx.defer("shopify push", async () => {
      unsubscribe();
      await push.stop();
    });
  }
  ctx.defer("global ATP reader", () => reader.stop());
  await reader.start();
  return sources.map((s) => s.system);
};

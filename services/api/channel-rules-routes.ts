/**
 * How an operator sets a position's channel rules (issue 14) and reads them back:
 *
 *   POST /v1/channels/rules  { sku, region, location, rules, category?, changeId?, by? }
 *   GET  /v1/channels/rules/:region/:location/:sku
 *
 * The POST sends a `setChannelRules` command to the region's node (request/reply, as reservations go)
 * and answers once it is decided: the position's `ChannelRulesChanged` event, whose revision is the
 * rules' version. The rules replace the previous ones whole (domain/channel-rules.ts). Who set them is
 * recorded in the event's `source.document` (`{ type: "operator", id: "<by> (key <API key>)" }`), and
 * `source.system` is the API's own system, so an ownership rule for the movement `allocation` names it.
 * `changeId` makes a retry idempotent (the same id, rules and operator answer the first outcome,
 * `duplicate`; the same id with other rules is a 409); without one, every POST is a new version.
 */
import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import * as t from "io-ts";
import { canonicalJson } from "../../domain/canonical-json.ts";
import { ChannelRulesC } from "../../domain/channel-rules.ts";
import type { Command } from "../../domain/commands.ts";
import { positionStreamId } from "../../domain/ids.ts";
import { ClientKeyC, CodeC, LocationIdC, RegionC, SkuC, TextC } from "../../domain/scalars.ts";
import { jsonSchemaOf, openObjects, withExample } from "../../infra/http/codec-json-schema.ts";
import { badRequest, errorResponses, sendError } from "../../infra/http/http-errors.ts";
import { decodeOr400 } from "../../infra/http/http-server.ts";
import type { RegionStore } from "../audit/position-routes.ts";
import { replayPosition } from "../audit/replay.ts";
import { requestDecision } from "./region-link.ts";

/** Channel allocation is an operator's decision. */
export const CHANNEL_RULES_ROLES = ["operations"] as const;

export const SetChannelRulesBodyC = t.intersection(
  [
    t.type({ sku: SkuC, region: RegionC, location: LocationIdC, rules: ChannelRulesC }),
    t.partial({ category: CodeC, changeId: ClientKeyC, by: TextC }),
  ],
  "channel rules { sku, region, location, rules, category?, changeId?, by? }",
);
export type SetChannelRulesBody = t.TypeOf<typeof SetChannelRulesBodyC>;

const PositionParamsC = t.type(
  { region: RegionC, location: LocationIdC, sku: SkuC },
  "{ region, location, sku }",
);

export interface ChannelRulesRoutesDeps {
  /** The hub connection reservations are sent on (`inv.req.<region>.<system>`). */
  readonly nc: NatsConnection;
  readonly stores: readonly RegionStore[];
  /** `source.system` of the command (the API's own, default `stockline-api`). */
  readonly sourceSystem?: string;
  readonly requestTimeoutMs?: number;
  readonly now?: () => string;
}

/** The person named in the body, and the API key it came with (as dead-letter resolutions record it). */
const whoFrom = (by: string | undefined, key: string | undefined): string =>
  by && key ? `${by} (key ${key})` : (by ?? key ?? "operator");

/** The command an operator's rules become. */
export const setChannelRulesCommand = (
  body: SetChannelRulesBody,
  who: string,
  system: string,
  now: string,
): Command => {
  const changeId = body.changeId ?? randomUUID();
  return {
    kind: "setChannelRules",
    rules: body.rules,
    ...(body.category !== undefined ? { category: body.category } : {}),
    idempotencyKey: `channel-rules:${changeId}`,
    source: { system, document: { type: "operator", id: who } },
    businessTime: now,
    correlationId: `channel-rules:${changeId}`,
    position: { sku: body.sku, location: body.location, region: body.region },
  } as Command;
};

/**
 * The change a resent command repeats: the event stored at `revision` with the same idempotency key,
 * rules, category and operator (undefined when it differs in any of them).
 */
const firstChange = async (
  d: ChannelRulesRoutesDeps,
  command: Command,
  revision: unknown,
): Promise<(Record<string, unknown> & { revision: number }) | undefined> => {
  const store = d.stores.find((s) => s.region === command.position.region);
  if (!store || typeof revision !== "number") return undefined;
  const [stored] = await store.store.readStream(positionStreamId(command.position), {
    from: revision,
    maxCount: 1,
  });
  const e = stored?.data as (Record<string, unknown> & { revision: number }) | undefined;
  const c = command as Command & { rules: unknown; category?: unknown };
  const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);
  return e &&
    e.type === "ChannelRulesChanged" &&
    e.idempotencyKey === command.idempotencyKey &&
    same(e.rules, c.rules) &&
    same(e.category, c.category) &&
    same((e.source as { document?: unknown } | undefined)?.document, command.source.document)
    ? e
    : undefined;
};

const EXAMPLE = {
  sku: "SKU-1001",
  region: "eu",
  location: "DC-1",
  rules: {
    quotas: [{ id: "Q-AMZ", channel: "amazon", quantity: 25, period: "day" }],
    protections: [{ id: "P-B2B", channel: "b2b", quantity: 10, period: "day" }],
    buffers: [
      { id: "B-ALL", scope: { level: "channel" }, amount: { percent: 10 }, priority: 1, channel: "web" },
    ],
    exclusions: [{ id: "X-EBAY", channel: "ebay", location: "DC-1" }],
  },
  changeId: "allocation-2026-05-01",
  by: "alice",
};

export const registerChannelRulesRoutes = (app: FastifyInstance, d: ChannelRulesRoutesDeps): void => {
  app.post(
    "/v1/channels/rules",
    {
      config: { roles: CHANNEL_RULES_ROLES },
      schema: {
        summary: "Set a position's channel rules (buffers, exclusions, protected minimums, quotas)",
        description:
          "Replaces the position's rules whole; decided by the region's node. 200: `ChannelRulesChanged` stored, its revision the rules' version (`duplicate: true` for a retried changeId). 422 `rules_refused` with the node's `code` (invalidChannelRules, notOwner for an ownership rule of `allocation`). 503/504: the region did not answer (a 504 may have been decided: resend with the same changeId). Who set them is recorded in the event.",
        tags: ["channels"],
        body: withExample(jsonSchemaOf(SetChannelRulesBodyC), EXAMPLE),
        response: {
          200: openObjects({
            type: "object",
            properties: {
              outcome: { type: "string", enum: ["accepted", "duplicate"] },
              version: { type: "integer", description: "the revision of the ChannelRulesChanged event" },
              position: { type: "object" },
              by: { type: "string" },
              event: { type: "object" },
            },
          }),
          ...errorResponses(400, 409, 422, 503, 504),
        },
      },
    },
    async (req, reply) => {
      const body = decodeOr400(SetChannelRulesBodyC, req.body, reply);
      if (!body) return reply;
      const who = whoFrom(body.by, req.caller?.name);
      const command = setChannelRulesCommand(
        body,
        who,
        d.sourceSystem ?? "stockline-api",
        d.now?.() ?? new Date().toISOString(),
      );
      const out = await requestDecision(d.nc, body.region, command, d.requestTimeoutMs ?? 10_000);
      if (out.kind === "unreachable" || out.kind === "denied")
        return sendError(reply, 503, "region_unreachable", `region ${body.region}: ${out.message}`, {
          region: body.region,
        });
      if (out.kind === "timeout")
        return sendError(
          reply,
          504,
          "region_timeout",
          `region ${body.region} did not answer in time; the rules may have been set: resend with the same changeId (${command.idempotencyKey.slice("channel-rules:".length)})`,
          { region: body.region, changeId: command.idempotencyKey.slice("channel-rules:".length) },
        );
      const r = out.reply;
      if (r.outcome === "accepted" || r.outcome === "duplicate") {
        const event = r.events.find((e) => e.type === "ChannelRulesChanged");
        return {
          outcome: r.outcome,
          ...(event ? { version: event.revision } : {}),
          position: command.position,
          by: who,
          ...(event ? { event } : {}),
        };
      }
      if (r.outcome === "invalid") return reply.code(400).send(badRequest(r.errors));
      if (r.outcome === "parked")
        return sendError(reply, 422, "parked", "the command was parked (a gap in a source sequence)", {
          ...r,
        });
      const reason = "reason" in r ? r.reason : { code: "rejected", message: JSON.stringify(r) };
      if (reason.code === "idempotencyConflict") {
        // The command's business time is when it was sent: a resent change differs only there.
        const first = await firstChange(d, command, reason.firstRevision);
        if (first)
          return {
            outcome: "duplicate",
            version: first.revision,
            position: command.position,
            by: who,
            event: first,
          };
        return sendError(
          reply,
          409,
          "change_id_conflict",
          `changeId ${JSON.stringify(body.changeId)} was already used for other rules (or another operator) at ${body.region}/${body.location}/${body.sku}: choose a new changeId`,
          { changeId: body.changeId },
        );
      }
      return sendError(reply, 422, "rules_refused", reason.message, { code: reason.code, reason });
    },
  );

  app.get(
    "/v1/channels/rules/:region/:location/:sku",
    {
      config: { roles: [...CHANNEL_RULES_ROLES, "commerce"] },
      schema: {
        summary: "A position's channel rules now, their version and who set them",
        tags: ["channels"],
        params: jsonSchemaOf(PositionParamsC),
        response: {
          200: openObjects({
            type: "object",
            properties: {
              position: { type: "object" },
              rules: { type: "object" },
              category: { type: "string" },
              version: {
                type: "integer",
                description: "revision of the last ChannelRulesChanged (-1: none)",
              },
              by: { type: "string" },
              usage: { type: "object", description: "what each channel used: { day, onDay, untilRevoked }" },
            },
          }),
          ...errorResponses(400, 404),
        },
      },
    },
    async (req, reply) => {
      const p = decodeOr400(PositionParamsC, req.params, reply);
      if (!p) return reply;
      const store = d.stores.find((s) => s.region === p.region);
      const r = store ? await replayPosition(store.store, p, { collectEvents: true }) : undefined;
      if (!r) return sendError(reply, 404, "not_found", `no position ${p.region}/${p.location}/${p.sku}`, p);
      const last = [...r.events].reverse().find((e) => e.type === "ChannelRulesChanged");
      return {
        position: r.position,
        rules: r.state.channelRules?.rules ?? {},
        ...(r.state.channelRules?.category !== undefined ? { category: r.state.channelRules.category } : {}),
        version: last?.revision ?? -1,
        ...(last?.source ? { by: last.source } : {}),
        usage: r.state.channelUsage ?? {},
      };
    },
  );
};

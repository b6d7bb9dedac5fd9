/**
 * `POST /v1/commands`: a batch of commands (`{ "commands": [...] }` or a bare array), one outcome per
 * item in the same order (200). Only a body that is not a batch is a 400. Items of one batch are
 * decided in parallel (one at a time per position, in batch order).
 *
 * The caller's API key (access-control.ts) speaks for its `systems` only: an item whose
 * `source.system` is another is refused (`senderMismatch`) and dead-lettered. A batch refused whole
 * for that reason is a 403 naming the key, the claimed systems and the allowed ones.
 *
 * The body's OpenAPI schema is generated from the codecs: the batch's and each command kind's
 * (`CommandCodecs`), the ones the handler decodes every item with.
 */
import type { FastifyInstance } from "fastify";
import * as t from "io-ts";
import { CommandCodecs } from "../../domain/commands.ts";
import { jsonSchemaOf, withExample } from "../../infra/http/codec-json-schema.ts";
import { badRequest, errorResponses, sendError } from "../../infra/http/http-errors.ts";
import type { CommandHandler } from "./command-handler.ts";

const BatchBodyC = t.union(
  [t.type({ commands: t.array(t.unknown) }), t.array(t.unknown)],
  "{ commands: [...] } or [...]",
);
const MAX_BATCH = 10_000;

const RECEIPT = {
  kind: "receiveGoods",
  quantity: { value: 40, uom: "EA" },
  idempotencyKey: "wms-berlin:ASN-5521:1",
  source: { system: "wms-berlin", document: { type: "asn", id: "ASN-5521", line: "1" } },
  businessTime: "2026-05-01T09:58:00Z",
  correlationId: "corr-7d1e",
  position: { sku: "SKU-1001", location: "DC-BERLIN", region: "eu" },
};

// Items are described by the command codecs; the batch decoder itself takes any item, so that one
// bad item is that item's outcome, not the batch's 400.
const commandSchema = {
  description: "a command: its `kind` says which of these shapes",
  oneOf: Object.values(CommandCodecs).map((c) => jsonSchemaOf(c)),
};
const batchBodySchema = withExample(
  {
    description: "`{ commands: [...] }`, or the array itself",
    anyOf: [
      {
        type: "object",
        properties: { commands: { type: "array", items: commandSchema, maxItems: MAX_BATCH } },
        required: ["commands"],
      },
      { type: "array", items: commandSchema, maxItems: MAX_BATCH },
    ],
  },
  { commands: [RECEIPT] },
);
const outcomeSchema = {
  type: "object",
  additionalProperties: true,
  description:
    "accepted or duplicate (with the stored events), rejected or deadLettered (with the reason), parked (a gap in the source's sequence) or invalid (with the field errors): see command-reply.ts",
};
const batchResponse = withExample(
  {
    type: "object",
    description: "one outcome per item, in the batch's order",
    properties: { outcomes: { type: "array", items: outcomeSchema } },
    additionalProperties: true,
  },
  {
    outcomes: [
      {
        outcome: "accepted",
        events: [
          {
            type: "GoodsReceived",
            eventId: "eu:position-eu-DC-BERLIN-SKU-1001:42",
            revision: 42,
            quantity: 40,
          },
        ],
      },
      {
        outcome: "rejected",
        reason: { code: "unknownLocation", message: "location DC-BERLN is not known in region eu" },
      },
    ],
  },
);

const claimedSystem = (item: unknown): string => {
  const system = (item as { source?: { system?: unknown } } | null)?.source?.system;
  return typeof system === "string" ? system : String(system);
};

export const registerCommandRoutes = (app: FastifyInstance, handler: CommandHandler): void => {
  app.post(
    "/v1/commands",
    {
      schema: {
        summary: "Ingest a batch of commands; one outcome per item",
        body: batchBodySchema,
        response: { 200: batchResponse, ...errorResponses(400, 403) },
      },
    },
    async (req, reply) => {
      const decoded = BatchBodyC.decode(req.body);
      if (decoded._tag === "Left") {
        return reply.code(400).send(
          badRequest([
            {
              path: "",
              value: typeof req.body,
              expected: "{ commands: [...] } or [...]",
              message: "(input): expected a batch { commands: [...] }",
            },
          ]),
        );
      }
      const items = Array.isArray(decoded.right) ? decoded.right : decoded.right.commands;
      if (items.length > MAX_BATCH) {
        return reply.code(400).send(
          badRequest([
            {
              path: "commands",
              value: items.length,
              expected: `at most ${MAX_BATCH} commands`,
              message: `commands: got ${items.length}, expected at most ${MAX_BATCH} commands`,
            },
          ]),
        );
      }
      const caller = req.caller;
      const sender = { name: caller?.name ?? "(none)", systems: [...(caller?.systems ?? [])] };
      const settled = await Promise.all(
        items.map((item) => handler.handleValue(item, { via: "http", sender })),
      );
      const outcomes = settled.map((s) => s.reply);
      const mismatched = outcomes.filter(
        (o) => o.outcome === "rejected" && o.reason.code === "senderMismatch",
      );
      if (items.length > 0 && mismatched.length === items.length) {
        const claimed = [...new Set(items.map(claimedSystem))];
        return sendError(
          reply,
          403,
          "forbidden",
          `API key ${JSON.stringify(sender.name)} may not post commands for ${claimed.map((c) => JSON.stringify(c)).join(", ")}; it speaks for: ${sender.systems.join(", ") || "no source system"}`,
          { key: sender.name, claimedSystems: claimed, allowedSystems: sender.systems, outcomes },
        );
      }
      return reply.code(200).send({ outcomes });
    },
  );
};

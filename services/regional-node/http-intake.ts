/**
 * `POST /v1/commands`: a batch of commands (`{ "commands": [...] }` or a bare array), one outcome per
 * item in the same order (200). Only a body that is not a batch is a 400. Items of one batch are
 * decided in parallel (one at a time per position, in batch order).
 *
 * The caller's API key (access-control.ts) speaks for its `systems` only: an item whose
 * `source.system` is another is refused (`senderMismatch`) and dead-lettered. A batch refused whole
 * for that reason is a 403 naming the key, the claimed systems and the allowed ones.
 */
import type { FastifyInstance } from "fastify";
import * as t from "io-ts";
import { badRequest } from "../../infra/http/http-server.ts";
import type { CommandHandler } from "./command-handler.ts";

const BatchBodyC = t.union(
  [t.type({ commands: t.array(t.unknown) }), t.array(t.unknown)],
  "{ commands: [...] } or [...]",
);
const MAX_BATCH = 10_000;

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
        body: { type: "object", properties: { commands: { type: "array", items: { type: "object" } } } },
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
        return reply.code(403).send({
          error: "forbidden",
          message: `API key ${JSON.stringify(sender.name)} may not post commands for ${claimed.map((c) => JSON.stringify(c)).join(", ")}; it speaks for: ${sender.systems.join(", ") || "no source system"}`,
          key: sender.name,
          claimedSystems: claimed,
          allowedSystems: sender.systems,
          outcomes,
        });
      }
      return reply.code(200).send({ outcomes });
    },
  );
};

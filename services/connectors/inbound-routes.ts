/**
 * `POST /v1/inbound/<system>` (issue 11): a source system sends one of its own documents (X12, EPCIS
 * JSON, a SAP material document, a Dynamics 365 payload, a snapshot, a Shopify webhook) as the request
 * body, whatever its content type. Who sends it:
 * - an API key (`x-api-key` or `Authorization: Bearer`) bound to that system (`api.keys[].systems`):
 *   no key or an unknown one is 401, a key bound to other systems 403, so a caller speaks only as itself;
 * - Shopify, which cannot send our key, signs the raw body: `X-Shopify-Hmac-Sha256` must be the
 *   HMAC-SHA256 under the app's secret (else 401, logged), and `X-Shopify-Topic` names the payload. The document is translated (registry.ts), its commands sent
 * to the intake as the system and its untranslatable parts dead-lettered (inbound-sender.ts); the
 * answer is 202 with the counts, each untranslatable part, and X12's 997. NATS not acknowledging is
 * 503: nothing is lost by sending the document again (same idempotency keys).
 *
 * `?kind=` names the payload of a format with several (Dynamics 365: onhand, setonhand, reserve,
 * unreserve).
 */
import type { FastifyInstance } from "fastify";
import { verifyShopifyHmac } from "../../connectors/shopify/shopify-hmac.ts";
import type { TranslationContext } from "../../connectors/translation.ts";
import type { ApiKeyRing } from "../../infra/http/api-keys.ts";
import { errorBody } from "../../infra/http/http-errors.ts";
import type { InboundSender } from "./inbound-sender.ts";
import type { InboundTranslator } from "./registry.ts";

export interface InboundRoute {
  readonly system: string;
  readonly translate: InboundTranslator;
  /** Shopify: the app's secret; requests are authenticated by their signature instead of a key. */
  readonly shopifySecret?: string;
}

const header = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

export const registerInboundRoutes = async (
  app: FastifyInstance,
  opts: {
    readonly sources: ReadonlyMap<string, InboundRoute>;
    readonly sender: InboundSender;
    readonly keys: ApiKeyRing;
    readonly context: (system: string, receivedAt: string) => TranslationContext;
  },
): Promise<void> => {
  // Documents are read as bytes, whatever they claim to be: the translator decides what they are.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
    scope.post<{ Params: { system: string }; Querystring: { kind?: string } }>(
      "/v1/inbound/:system",
      {
        schema: {
          description:
            "A source system's own document (X12, EPCIS, SAP, Dynamics 365, snapshot) translated into commands; untranslatable parts are dead-lettered. The key must be bound to the system.",
          params: { type: "object", properties: { system: { type: "string" } }, required: ["system"] },
          querystring: { type: "object", properties: { kind: { type: "string" } } },
          response: {
            202: {
              type: "object",
              properties: {
                system: { type: "string" },
                commands: { type: "integer" },
                deadLettered: { type: "integer" },
                idempotencyKeys: { type: "array", items: { type: "string" } },
                untranslatable: { type: "array", items: { type: "object", additionalProperties: true } },
                acknowledgment: { type: "string" },
              },
            },
          },
        },
      },
      async (req, reply) => {
        const { system } = req.params;
        const route = opts.sources.get(system);
        if (!route)
          return reply
            .code(404)
            .send(
              errorBody(
                "not_found",
                `no connector source ${JSON.stringify(system)} over HTTP: expected one of ${[...opts.sources.keys()].join(", ") || "(none)"}`,
              ),
            );
        const body = req.body;
        const bytes = body instanceof Uint8Array ? new Uint8Array(body) : new Uint8Array();
        let kind = req.query.kind;
        if (route.shopifySecret !== undefined) {
          const signature = header(req.headers["x-shopify-hmac-sha256"]) ?? "";
          if (!verifyShopifyHmac(bytes, signature, route.shopifySecret)) {
            req.log.warn(
              { system, topic: header(req.headers["x-shopify-topic"]), signed: signature !== "" },
              "inbound: Shopify webhook refused: X-Shopify-Hmac-Sha256 does not match the body",
            );
            return reply
              .code(401)
              .send(
                errorBody(
                  "unauthorized",
                  `X-Shopify-Hmac-Sha256 is not the HMAC-SHA256 of this body under ${system}'s secret`,
                ),
              );
          }
          kind ??= header(req.headers["x-shopify-topic"]);
        } else {
          const auth = header(req.headers.authorization);
          const key =
            header(req.headers["x-api-key"]) ??
            (auth?.startsWith("Bearer ") ? auth.slice(7).trim() : undefined);
          const caller = key ? opts.keys.resolve(key) : undefined;
          if (!caller)
            return reply
              .code(401)
              .send(
                errorBody(
                  "unauthorized",
                  key
                    ? "unknown API key: the key sent is not one of this server's"
                    : "an API key is required: send it in the x-api-key header (or Authorization: Bearer <key>)",
                ),
              );
          if (!caller.systems.has(system))
            return reply
              .code(403)
              .send(
                errorBody(
                  "forbidden",
                  `API key ${JSON.stringify(caller.name)} may not send as ${JSON.stringify(system)}: it is bound to ${[...caller.systems].join(", ") || "no system"} (api.keys[].systems)`,
                ),
              );
        }
        const receivedAt = new Date().toISOString();
        const result = route.translate(
          { bytes, ...(kind ? { kind } : {}) },
          opts.context(system, receivedAt),
        );
        let sent: Awaited<ReturnType<InboundSender["send"]>>;
        try {
          sent = await opts.sender.send(system, bytes, result, { via: "http", where: req.url });
        } catch (err) {
          req.log.warn({ err, system }, "inbound: sending failed");
          return reply
            .code(503)
            .send(
              errorBody(
                "unavailable",
                `the document was translated but NATS did not acknowledge it (${(err as Error).message}); send it again: the same document is applied once`,
              ),
            );
        }
        return reply.code(202).send({
          system,
          commands: sent.commands,
          deadLettered: sent.deadLettered,
          idempotencyKeys: sent.idempotencyKeys,
          untranslatable: result.translation.untranslatable,
          ...(result.acknowledgment ? { acknowledgment: result.acknowledgment } : {}),
        });
      },
    );
  });
};

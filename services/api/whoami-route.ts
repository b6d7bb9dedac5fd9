/**
 * `GET /v1/whoami`: the caller's name, roles and the systems its key speaks for, so that a client (the
 * dashboards, ui/src/app.tsx) shows what the key may do. Any role may ask; no key is a 401 as everywhere.
 */
import type { FastifyInstance } from "fastify";
import { ROLES } from "../../infra/http/api-keys.ts";

export const WHOAMI_ROLES = ROLES;

export const registerWhoamiRoute = (app: FastifyInstance): void => {
  app.get(
    "/v1/whoami",
    {
      config: { roles: WHOAMI_ROLES },
      schema: {
        summary: "Who the API key is: its name, roles and the systems it may speak for",
        tags: ["access"],
        response: {
          200: {
            type: "object",
            required: ["name", "roles", "systems"],
            properties: {
              name: { type: "string" },
              roles: { type: "array", items: { type: "string", enum: [...ROLES] } },
              systems: { type: "array", items: { type: "string" } },
              channel: { type: "string" },
            },
            examples: [{ name: "ops-desk", roles: ["operations"], systems: [] }],
          },
        },
      },
    },
    async (req) => {
      const caller = req.caller!;
      return {
        name: caller.name,
        roles: [...caller.roles],
        systems: [...caller.systems],
        ...(caller.channel ? { channel: caller.channel } : {}),
      };
    },
  );
};

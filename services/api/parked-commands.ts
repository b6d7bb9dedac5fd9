/**
 * Commands parked for a gap in their source's sequence (DESIGN §3.12), for warehouse support (issue
 * 12): `GET /v1/parked?location=&sku=`. Each node keeps them in its own SQLite database
 * (`<node dataDir>/node.db`, table `parked`); this reads that file read-only (WAL: the node's writer
 * is not blocked), one region at a time, a region whose node has not created its file yet answers none.
 */
import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import type { FastifyInstance } from "fastify";
import * as t from "io-ts";
import { decodeOr400 } from "../../infra/http/http-server.ts";

export interface ParkedCommand {
  readonly region: string;
  readonly streamId: string;
  readonly system: string;
  readonly sequence: number;
  readonly idempotencyKey: string;
  readonly kind?: string;
  readonly sku?: string;
  readonly location?: string;
  readonly document?: unknown;
  readonly parkedAt: string;
  /** When the node stops waiting for the gap and decides the command across it. */
  readonly deadline: string;
}

interface Row {
  stream_id: string;
  system: string;
  sequence: number;
  idempotency_key: string;
  command: string;
  parked_at: number;
  deadline: number;
}

const fieldsOf = (command: string): Pick<ParkedCommand, "kind" | "sku" | "location" | "document"> => {
  try {
    const c = JSON.parse(command) as {
      kind?: unknown;
      position?: { sku?: unknown; location?: unknown };
      source?: { document?: unknown };
    };
    return {
      ...(typeof c.kind === "string" ? { kind: c.kind } : {}),
      ...(typeof c.position?.sku === "string" ? { sku: c.position.sku } : {}),
      ...(typeof c.position?.location === "string" ? { location: c.position.location } : {}),
      ...(c.source?.document !== undefined ? { document: c.source.document } : {}),
    };
  } catch {
    return {};
  }
};

export class ParkedCommandsReader {
  private readonly open = new Map<string, Database.Database>();

  /** `files`: the node database of each region. */
  constructor(private readonly files: ReadonlyMap<string, string>) {}

  private dbOf(region: string): Database.Database | undefined {
    let db = this.open.get(region);
    const file = this.files.get(region);
    if (!db && file && existsSync(file)) {
      db = new Database(file, { readonly: true, fileMustExist: true });
      this.open.set(region, db);
    }
    return db;
  }

  list(filter: { readonly location?: string; readonly sku?: string; readonly limit?: number } = {}) {
    const out: ParkedCommand[] = [];
    for (const region of this.files.keys()) {
      const db = this.dbOf(region);
      if (!db) continue;
      let rows: Row[];
      try {
        rows = db
          .prepare<[number], Row>("SELECT * FROM parked ORDER BY parked_at LIMIT ?")
          .all(filter.limit ?? 500);
      } catch {
        continue; // no table yet: the node has not parked anything since its database was made
      }
      for (const r of rows) {
        const f = fieldsOf(r.command);
        if (filter.location !== undefined && f.location !== filter.location) continue;
        if (filter.sku !== undefined && f.sku !== filter.sku) continue;
        out.push({
          region,
          streamId: r.stream_id,
          system: r.system,
          sequence: r.sequence,
          idempotencyKey: r.idempotency_key,
          ...f,
          parkedAt: new Date(r.parked_at).toISOString(),
          deadline: new Date(r.deadline).toISOString(),
        });
      }
    }
    return out;
  }

  close(): void {
    for (const db of this.open.values()) db.close();
    this.open.clear();
  }
}

const QueryC = t.partial({ location: t.string, sku: t.string }, "{ location?, sku? }");

export const registerParkedRoutes = (app: FastifyInstance, reader: ParkedCommandsReader): void => {
  app.get(
    "/v1/parked",
    {
      config: { roles: ["warehouse", "operations"] },
      schema: {
        tags: ["positions"],
        summary:
          "Commands parked for a gap in their source's sequence, per region (optionally of one position)",
        querystring: {
          type: "object",
          properties: {
            location: { type: "string", description: "only this location" },
            sku: { type: "string", description: "only this SKU" },
          },
        },
        response: {
          200: {
            description: "parked commands, oldest first",
            type: "object",
            properties: { parked: { type: "array", items: { type: "object", additionalProperties: true } } },
            examples: [
              {
                parked: [
                  {
                    region: "eu",
                    streamId: "position-DC-AMS-SKU-1",
                    system: "WMS_EU",
                    sequence: 12,
                    idempotencyKey: "WMS_EU-pick-12",
                    kind: "pick",
                    sku: "SKU-1",
                    location: "DC-AMS",
                    parkedAt: "2026-05-01T10:00:00.000Z",
                    deadline: "2026-05-01T10:00:30.000Z",
                  },
                ],
              },
            ],
          },
        },
      },
    },
    async (req, reply) => {
      const q = decodeOr400(QueryC, req.query ?? {}, reply);
      if (!q) return reply;
      return { parked: reader.list(q) };
    },
  );
};

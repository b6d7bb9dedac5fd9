/**
 * `GET /v1/live/<topic>`: server-sent events for the dashboards (issue 12), fed from what the API
 * process already watches (the global ATP bucket's changes, the dead-letter desks, the parts' status).
 *
 * - The key goes in the `x-api-key` header like on every `/v1` call (the page reads the stream with
 *   `fetch`, ui/src/live.ts), never in the URL: URLs land in access logs.
 * - Each topic has its own roles: a caller without one of them gets 403 naming them.
 * - Frames: `event: hello` once (the topic and the server's time), then `event: update` with the
 *   topic's JSON; a comment every 15 s keeps proxies from closing an idle stream.
 * - A topic's source is subscribed once per stream and unsubscribed when the client goes away or
 *   the server closes.
 */
import type { FastifyInstance } from "fastify";
import { ROLES, type Role } from "../../infra/http/api-keys.ts";
import { sendError } from "../../infra/http/http-errors.ts";

export interface LiveTopic {
  readonly roles: readonly Role[];
  readonly description: string;
  /** Starts telling `push` about changes; returns how to stop. */
  subscribe(push: (data: unknown) => void): () => void;
}

export type LiveTopics = Readonly<Record<string, LiveTopic>>;

export const LIVE_HEARTBEAT_MS = 15_000;

/**
 * A topic that gathers keys (SKUs, regions) told by `source` and pushes them at most every
 * `everyMs` as `{ [field]: [...keys] }`: a burst of ATP changes is one frame, not thousands.
 */
export const batchedTopic = (o: {
  readonly roles: readonly Role[];
  readonly description: string;
  readonly field: string;
  readonly everyMs?: number;
  readonly source: (listener: (key: string) => void) => () => void;
}): LiveTopic => ({
  roles: o.roles,
  description: o.description,
  subscribe: (push) => {
    let pending = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = o.source((key) => {
      pending.add(key);
      timer ??= setTimeout(() => {
        timer = undefined;
        const keys = [...pending];
        pending = new Set();
        push({ [o.field]: keys });
      }, o.everyMs ?? 500);
    });
    return () => {
      stop();
      if (timer) clearTimeout(timer);
    };
  },
});

/**
 * A topic fed by sampling `read()` every `everyMs` while someone follows it, pushing when the answer
 * differs from the last one pushed (the source has no change feed of its own, e.g. a stream's depth).
 * One sampler serves every reader of the topic: a new reader gets the last answer at once, and the
 * sampling stops when the last reader goes.
 */
export const sampledTopic = (o: {
  readonly roles: readonly Role[];
  readonly description: string;
  readonly everyMs: number;
  readonly read: () => Promise<unknown>;
}): LiveTopic => {
  const readers = new Set<(data: unknown) => void>();
  let last: { text: string; value: unknown } | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let busy = false;
  const sample = () => {
    if (busy) return;
    busy = true;
    void o
      .read()
      .then((value) => {
        const text = JSON.stringify(value);
        if (readers.size === 0 || text === last?.text) return;
        last = { text, value };
        for (const push of readers) push(value);
      })
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  };
  return {
    roles: o.roles,
    description: o.description,
    subscribe: (push) => {
      readers.add(push);
      if (last) push(last.value);
      if (!timer) {
        sample();
        timer = setInterval(sample, o.everyMs);
      }
      return () => {
        readers.delete(push);
        if (readers.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
          last = undefined;
        }
      };
    },
  };
};

/** Streams one API key may hold open at once (a dashboard needs two or three); more is a 429. */
export const LIVE_STREAMS_PER_KEY = 8;

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export const registerLiveRoutes = (app: FastifyInstance, topics: LiveTopics): void => {
  const names = Object.keys(topics);
  const anyRole = ROLES.filter((r) => names.some((n) => topics[n]!.roles.includes(r)));
  if (names.length === 0) return;
  const ending = new Set<() => void>();
  const streamsOf = new Map<string, number>();
  app.addHook("onClose", async () => {
    for (const end of [...ending]) end();
  });
  app.get<{ Params: { topic: string } }>(
    "/v1/live/:topic",
    {
      config: { roles: anyRole },
      schema: {
        summary: "Live updates of a dashboard topic (server-sent events)",
        description: `Topics: ${names.map((n) => `\`${n}\` (${topics[n]!.roles.join(", ")}): ${topics[n]!.description}`).join("; ")}.`,
        tags: ["dashboards"],
        params: {
          type: "object",
          required: ["topic"],
          properties: { topic: { type: "string", enum: names } },
        },
        response: {
          200: {
            description:
              "text/event-stream: `event: hello` once, then `event: update` frames of the topic's JSON",
            type: "string",
            examples: ['event: update\ndata: {"skus":["SKU-1001"]}\n\n'],
          },
        },
      },
    },
    async (req, reply) => {
      const topic = Object.hasOwn(topics, req.params.topic) ? topics[req.params.topic] : undefined;
      if (!topic)
        return sendError(
          reply,
          404,
          "not_found",
          `no live topic ${JSON.stringify(req.params.topic)}; topics: ${names.join(", ")}`,
        );
      const caller = req.caller!;
      if (!topic.roles.some((r) => caller.roles.has(r)))
        return sendError(
          reply,
          403,
          "forbidden",
          `API key ${JSON.stringify(caller.name)} (roles ${[...caller.roles].join(", ")}) may not follow the live topic ${req.params.topic}; it needs one of: ${topic.roles.join(", ")}`,
          { requiredRoles: topic.roles },
        );
      const open = streamsOf.get(caller.name) ?? 0;
      if (open >= LIVE_STREAMS_PER_KEY)
        return sendError(
          reply,
          429,
          "too_many_requests",
          `API key ${JSON.stringify(caller.name)} already holds ${open} live streams (at most ${LIVE_STREAMS_PER_KEY}); close one first`,
          { retryAfterSeconds: 5 },
        );
      streamsOf.set(caller.name, open + 1);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      res.write(frame("hello", { topic: req.params.topic, at: new Date().toISOString() }));
      let ended = false;
      const unsubscribe = topic.subscribe((data) => {
        if (!ended) res.write(frame("update", data));
      });
      const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), LIVE_HEARTBEAT_MS);
      const end = () => {
        if (ended) return;
        ended = true;
        ending.delete(end);
        const left = (streamsOf.get(caller.name) ?? 1) - 1;
        if (left > 0) streamsOf.set(caller.name, left);
        else streamsOf.delete(caller.name);
        clearInterval(heartbeat);
        unsubscribe();
        res.end();
      };
      ending.add(end);
      req.raw.on("close", end);
      res.on("error", end);
    },
  );
};

/**
 * Fault injection shared by the ERP simulators: latency with jitter, a random error rate, lost
 * responses (the request is applied but the caller never learns it) and outages, either switched
 * on and off or scheduled as windows. Admin routes under `/_sim` are never faulted.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import * as t from "io-ts";
import { toDecodeErrors } from "../../domain/decode-errors.ts";

export type OutageMode = "503" | "drop";

export interface OutageWindow {
  /** epoch milliseconds, inclusive */
  readonly from: number;
  /** epoch milliseconds, exclusive */
  readonly to: number;
}

export interface FaultOptions {
  /** Added to every faultable request, in milliseconds. */
  readonly latencyMs?: number;
  /** Uniform extra latency in [0, jitterMs). */
  readonly jitterMs?: number;
  /** Probability in [0, 1] that a request is refused with `errorStatus` before it is applied. */
  readonly errorRate?: number;
  readonly errorStatus?: 500 | 503;
  /** Probability in [0, 1] that a request is applied but answered with 504 (an in-doubt outcome). */
  readonly lostResponseRate?: number;
  readonly outage?: boolean;
  /** `503`: answer Service Unavailable in the system's error shape; `drop`: destroy the connection. */
  readonly outageMode?: OutageMode;
  readonly outageWindows?: readonly OutageWindow[];
  /** Injectable randomness and clock, for deterministic tests. */
  readonly random?: () => number;
  readonly now?: () => number;
}

export interface FaultCounters {
  errors: number;
  outages: number;
  lostResponses: number;
}

/** Renders an error body in the simulated system's own shape. */
export type ErrorRenderer = (status: number, code: string, message: string) => unknown;

const FaultPatch = t.partial({
  latencyMs: t.number,
  jitterMs: t.number,
  errorRate: t.number,
  errorStatus: t.union([t.literal(500), t.literal(503)]),
  lostResponseRate: t.number,
  outageMode: t.union([t.literal("503"), t.literal("drop")]),
  outageWindows: t.array(t.type({ from: t.number, to: t.number })),
});
const OutageBody = t.intersection([
  t.type({ down: t.boolean }),
  t.partial({ mode: t.union([t.literal("503"), t.literal("drop")]), forMs: t.number }),
]);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class FaultInjector {
  private options: Required<Omit<FaultOptions, "random" | "now">>;
  private readonly random: () => number;
  private readonly now: () => number;
  private outageUntil: number | undefined;
  readonly counters: FaultCounters = { errors: 0, outages: 0, lostResponses: 0 };

  constructor(options: FaultOptions = {}) {
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.options = {
      latencyMs: 0,
      jitterMs: 0,
      errorRate: 0,
      errorStatus: 503,
      lostResponseRate: 0,
      outage: false,
      outageMode: "503",
      outageWindows: [],
    };
    this.set(options);
  }

  set(patch: FaultOptions): void {
    const { random: _r, now: _n, ...rest } = patch;
    for (const rate of [rest.errorRate, rest.lostResponseRate]) {
      if (rate !== undefined && !(rate >= 0 && rate <= 1))
        throw new Error(`a rate must be in [0, 1], got ${rate}`);
    }
    this.options = { ...this.options, ...rest };
  }

  get current(): Readonly<Required<Omit<FaultOptions, "random" | "now">>> {
    return { ...this.options, outage: this.isDown() };
  }

  /** Switch an outage on or off; with `forMs` it ends by itself. */
  setOutage(down: boolean, opts: { mode?: OutageMode; forMs?: number } = {}): void {
    this.options = { ...this.options, outage: down, outageMode: opts.mode ?? this.options.outageMode };
    this.outageUntil = down && opts.forMs !== undefined ? this.now() + opts.forMs : undefined;
  }

  isDown(at: number = this.now()): boolean {
    if (this.options.outage) {
      if (this.outageUntil === undefined || at < this.outageUntil) return true;
      this.options = { ...this.options, outage: false };
      this.outageUntil = undefined;
    }
    return this.options.outageWindows.some((w) => at >= w.from && at < w.to);
  }

  /**
   * Installs the hooks on every non-admin route of `app`. `render` gives the system's error shape.
   */
  install(app: FastifyInstance, render: ErrorRenderer): void {
    const lost = new WeakSet<FastifyRequest>();
    app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.url.startsWith("/_sim")) return;
      const { latencyMs, jitterMs } = this.options;
      const delay = latencyMs + (jitterMs > 0 ? this.random() * jitterMs : 0);
      if (delay > 0) await sleep(delay);
      if (this.isDown()) {
        this.counters.outages++;
        if (this.options.outageMode === "drop") {
          reply.hijack();
          request.raw.socket?.destroy();
          return reply;
        }
        return reply
          .code(503)
          .header("retry-after", "1")
          .send(render(503, "SIM/OUTAGE", "Service unavailable (simulated outage)"));
      }
      if (this.options.errorRate > 0 && this.random() < this.options.errorRate) {
        this.counters.errors++;
        const status = this.options.errorStatus;
        return reply
          .code(status)
          .send(
            render(status, "SIM/ERROR", `Simulated ${status === 503 ? "unavailability" : "internal error"}`),
          );
      }
      if (
        request.method !== "GET" &&
        this.options.lostResponseRate > 0 &&
        this.random() < this.options.lostResponseRate
      ) {
        lost.add(request);
      }
    });
    // The handler has run and committed; the caller only sees a gateway timeout.
    app.addHook("onSend", async (request, reply, payload) => {
      if (!lost.has(request) || reply.statusCode >= 400) return payload;
      this.counters.lostResponses++;
      reply.code(504);
      return JSON.stringify(
        render(504, "SIM/LOST_RESPONSE", "Gateway timeout (simulated; the request was applied)"),
      );
    });

    app.post("/_sim/outage", async (request, reply) => {
      const decoded = OutageBody.decode(request.body);
      if (decoded._tag === "Left")
        return reply.code(400).send({ errors: toDecodeErrors(decoded.left, { arrayIndex: "brackets" }) });
      const body = decoded.right;
      this.setOutage(body.down, {
        ...(body.mode === undefined ? {} : { mode: body.mode }),
        ...(body.forMs === undefined ? {} : { forMs: body.forMs }),
      });
      return { outage: this.isDown(), mode: this.options.outageMode };
    });
    app.post("/_sim/faults", async (request, reply) => {
      const decoded = FaultPatch.decode(request.body);
      if (decoded._tag === "Left")
        return reply.code(400).send({ errors: toDecodeErrors(decoded.left, { arrayIndex: "brackets" }) });
      try {
        this.set(decoded.right);
      } catch (error) {
        return reply.code(400).send({ errors: [{ message: (error as Error).message }] });
      }
      return this.current;
    });
    app.get("/_sim/faults", async () => ({ ...this.current, counters: this.counters }));
  }
}

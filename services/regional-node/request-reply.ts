/**
 * Request/reply on `inv.req.<r>` and `inv.req.<r>.<system>` (queue group, so several nodes of a region share the load): the
 * body is one command as JSON, the reply a `CommandReply` (see command-reply.ts). The reply is sent
 * only once the outcome is durable.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { reqSubject } from "../../infra/nats/subjects.ts";
import type { CommandHandler } from "./command-handler.ts";

export class RequestReplyIntake {
  private subs: Subscription[] = [];
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly o: {
      region: string;
      nc: NatsConnection;
      handler: Pick<CommandHandler, "handleBytes">;
      logger: Logger;
    },
  ) {}

  start(): void {
    // `inv.req.<r>` (servers without permissions) and `inv.req.<r>.<system>`, whose subject proves the sender.
    this.subs = [reqSubject(this.o.region), `${reqSubject(this.o.region)}.*`].map((subject) =>
      this.o.nc.subscribe(subject, { queue: `stockline-node-${this.o.region}`, callback: this.onMessage }),
    );
  }

  private readonly onMessage = (err: Error | null, msg: Msg): void => {
    if (err) {
      this.o.logger.error({ err }, "request subscription error");
      return;
    }
    this.inFlight++;
    this.o.handler
      .handleBytes(msg.data, { via: "request", subject: msg.subject })
      .then(
        (settled) => msg.respond(JSON.stringify(settled.reply)),
        (error: unknown) =>
          msg.respond(
            JSON.stringify({
              outcome: "rejected",
              reason: { code: "internalError", message: (error as Error).message ?? String(error) },
            }),
          ),
      )
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
  };

  async stop(): Promise<void> {
    for (const sub of this.subs) sub.unsubscribe();
    while (this.inFlight > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }
}

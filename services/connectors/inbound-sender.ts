/**
 * What the connector transports do with a translated document (issue 11): each command goes to the
 * intake of its position's region as the source system (`inv.cmd.<r>.<system>.<loc>.<sku>`, the
 * system's own NATS user where the topology is secured), with the idempotency key as JetStream
 * message id; each untranslatable part becomes a dead letter (`inv.dlq.<r>.untranslatable`) naming
 * the document, the place, the value and why, with the document itself as the payload.
 *
 * `send` resolves once every command and dead letter is acknowledged by its stream, and throws when
 * one is not (NATS unreachable): the transport then keeps the document (the file stays, the HTTP
 * caller gets 503) and a retry sends it again. A repeat is harmless: the same document gives the same
 * idempotency keys (the stream's duplicate window and each position's remembered keys drop it), and a
 * dead letter's id is derived from the document and the place, so it is one dead letter too.
 */
import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { UntranslatablePart } from "../../connectors/translation.ts";
import { canonicalJson, sha256Hex } from "../../domain/canonical-json.ts";
import type { Command } from "../../domain/commands.ts";
import { sourceCmdSubject } from "../../infra/nats/subjects.ts";
import { DeadLetterPublisher } from "../regional-node/dead-letters.ts";
import type { InboundResult } from "./registry.ts";

export interface InboundConnections {
  /** The source system's connection to a region (it publishes the system's commands there). */
  source(region: string, system: string): Promise<NatsConnection>;
  /** A connection to the region allowed to publish dead letters (the node's user where secured). */
  deadLetters(region: string): Promise<NatsConnection>;
}

export interface SendReport {
  readonly commands: number;
  readonly deadLettered: number;
  /** Idempotency keys of the commands sent, in order. */
  readonly idempotencyKeys: readonly string[];
}

/** How a transport received the document, for the dead letter (`http`, `drop-folder`). */
export interface Arrival {
  readonly via: string;
  /** The file (drop folder) or the route. */
  readonly where?: string;
}

/** One line for an operator: the document, the place, the value found there and why it cannot be translated. */
export const describePart = (p: UntranslatablePart): string =>
  `${p.document.type}${p.document.id ? ` ${p.document.id}` : ""} at ${p.at}${p.value === undefined ? " (missing)" : ` (value ${JSON.stringify(p.value)})`}: ${p.reason}`;

export class InboundSender {
  private readonly js = new Map<string, Promise<JetStreamClient>>();
  private readonly dlq = new Map<string, Promise<DeadLetterPublisher>>();

  constructor(
    private readonly connections: InboundConnections,
    /** The region a source's dead letters go to (its first region). */
    private readonly homeRegionOf: (system: string) => string,
    private readonly log: Logger,
  ) {}

  private jsOf(region: string, system: string): Promise<JetStreamClient> {
    const k = `${region}\u0000${system}`;
    let p = this.js.get(k);
    if (!p) {
      p = this.connections.source(region, system).then((nc) => jetstream(nc));
      p.catch(() => this.js.delete(k));
      this.js.set(k, p);
    }
    return p;
  }

  private dlqOf(region: string): Promise<DeadLetterPublisher> {
    let p = this.dlq.get(region);
    if (!p) {
      p = this.connections
        .deadLetters(region)
        .then((nc) => new DeadLetterPublisher(jetstream(nc), region, this.log));
      p.catch(() => this.dlq.delete(region));
      this.dlq.set(region, p);
    }
    return p;
  }

  private async publishCommand(system: string, c: Command): Promise<void> {
    const { region, location, sku } = c.position;
    const js = await this.jsOf(region, system);
    await js.publish(sourceCmdSubject(region, system, location, sku), JSON.stringify(c), {
      msgID: c.idempotencyKey,
      timeout: 10_000,
    });
  }

  private async deadLetter(
    system: string,
    document: Uint8Array,
    part: UntranslatablePart,
    arrival: Arrival,
  ): Promise<void> {
    const region = this.homeRegionOf(system);
    const publisher = await this.dlqOf(region);
    const documentHash = sha256Hex(Buffer.from(document).toString("base64"));
    const dl = publisher.build({
      reason: "untranslatable",
      code: "untranslatable",
      message: describePart(part),
      details: {
        document: part.document,
        at: part.at,
        ...(part.value === undefined ? {} : { value: part.value }),
        reason: part.reason,
        ...(arrival.where ? { received: arrival.where } : {}),
        documentSha256: documentHash,
      },
      raw: {
        source: { system, document: part.document },
        ...(part.document.id ? { correlationId: part.document.id } : {}),
      },
      payload: document,
      intake: { via: arrival.via },
    });
    // The same document and place is one dead letter however often the document is sent.
    await publisher.send(
      dl,
      `untranslatable:${sha256Hex(canonicalJson([system, documentHash, part.document, part.at, part.reason]))}`,
    );
  }

  /** Sends the commands and dead-letters the untranslatable parts; throws when NATS does not acknowledge. */
  async send(
    system: string,
    document: Uint8Array,
    result: InboundResult,
    arrival: Arrival,
  ): Promise<SendReport> {
    const { commands, untranslatable } = result.translation;
    for (const c of commands) await this.publishCommand(system, c);
    for (const p of untranslatable) await this.deadLetter(system, document, p, arrival);
    return {
      commands: commands.length,
      deadLettered: untranslatable.length,
      idempotencyKeys: commands.map((c) => c.idempotencyKey),
    };
  }
}

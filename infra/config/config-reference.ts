/**
 * The configuration reference (docs/configuration.md), rendered from the distributor configuration's
 * codecs (`codecFields`): the paths, whether each is required and what it expects come from what is
 * decoded; the sentences below say what a field is for. A test fails when a sentence names a path
 * the codecs no longer have, when a section has no sentence, or when the committed file is stale.
 */
import { type CodecField, codecFields } from "./codec-fields.ts";
import { DistributorConfigC } from "./distributor-config.ts";

export const FIELD_DOCS: Readonly<Record<string, string>> = {
  distributor: "Who this configuration describes.",
  "distributor.name": "The distributor's name, shown by the API and the status view.",
  "distributor.id":
    "A short id for folders and NATS client names (default: the name, lowercased, `-` for the rest).",
  version:
    "Your own label of this revision of the configuration (e.g. `2026-12-06.1`). The API shows it with a digest of the document (`GET /v1/reference`), so every part can be checked to run the same configuration. The digest covers the distributor's world and rules, not where its servers run: NATS endpoints and credentials and `dataDir` are left out (so the parts `stockline up` starts show the version of the file given).",
  dataDir:
    "Folder of every part's files: event stores, checkpoints, ledgers, logs (default `.data/<distributor id>`).",
  regions:
    "The regions: each is one regional node with its own event store and NATS JetStream domain (the region id).",
  "regions[].id":
    "Region id: the JetStream domain, the `<region>` token of subjects and stream names (`INV_EVT_<R>`).",
  "regions[].name": "A name for people.",
  "regions[].nats":
    "The region's NATS servers and the node's credentials. Secrets are never inline: a file or an environment variable holds them. In `managed` mode `stockline up` fills this in.",
  "regions[].nats.servers": "Server URLs of the region's cluster (`nats://host:4222`, `tls://...`).",
  "regions[].nats.name": "Client connection name (default `stockline-<part>-<region>`).",
  "regions[].nats.user": "User name; its password comes from `passwordFile` or `passwordEnv`.",
  "regions[].nats.passwordFile": "File holding the user's password.",
  "regions[].nats.passwordEnv": "Environment variable holding the user's password.",
  "regions[].nats.tokenFile": "File holding a token (instead of a user).",
  "regions[].nats.tokenEnv": "Environment variable holding a token.",
  "regions[].nats.nkeySeedFile": "File holding a user nkey seed (`SU...`).",
  "regions[].nats.nkeySeedEnv": "Environment variable holding a user nkey seed.",
  "regions[].nats.credsFile": "A `.creds` file (user JWT and seed) made with `nsc`.",
  "regions[].nats.tls":
    "TLS to the servers: the CA to verify them, and a client certificate where they verify clients.",
  "regions[].nats.tls.caFile": "CA certificate(s) the servers' certificates must chain to.",
  "regions[].nats.tls.certFile": "Client certificate (mutual TLS).",
  "regions[].nats.tls.keyFile": "Client certificate's key.",
  "regions[].nats.inboxPrefix":
    "Prefix of reply subjects, where the server lets each user read only its own inboxes.",
  "regions[].store":
    "The region's event store, the source of truth: SQLite embedded (default, `<dataDir>/<region>/events.db`), EventStoreDB, or PostgreSQL (which every node of the region reaches over the network).",
  "regions[].store.kind": "`sqlite`, `eventstoredb` or `postgres`.",
  "regions[].store.path": "SQLite file (relative to the region's folder).",
  "regions[].store.synchronous":
    "SQLite `synchronous` pragma (default `FULL`: a committed event survives a power cut).",
  "regions[].store.url":
    "EventStoreDB connection string (`esdb://host:2113?tls=true`), or PostgreSQL URL (`postgres://user@host:5432/database`; the password from `PGPASSWORD` or `~/.pgpass`, not inline).",
  "regions[].store.schema":
    "PostgreSQL schema holding the region's store (default `stockline_<region>`, `-` read as `_`), created and migrated at start; regions may share one server.",
  "regions[].node": "Settings of this region's node; they override the top-level `node`.",
  "regions[].node.snapshotEvery": "Snapshot a position every this many events (default 100).",
  "regions[].node.parkTimeoutMs":
    "How long a command waits for a gap in its source's sequence before it is applied and flagged (default 60000).",
  "regions[].node.idempotencyKeysPerPosition":
    "Idempotency keys remembered per position, the most recent ones (default 1024).",
  "regions[].node.defaultReservationTtlSeconds": "Lifetime of a reservation that names none (default 900).",
  "regions[].node.countVarianceTolerance":
    "A count differing from the balance by at most this raises no anomaly (default 0).",
  "regions[].node.actorCache":
    "Position actors kept in memory: `max` (default 100000) and idle time before passivation `idleMs`.",
  "regions[].node.commit":
    "Group commit: events of many positions appended together, at most `maxBatch` (default 1000).",
  "regions[].node.relay":
    "The relay from the store to JetStream: publish window, read batch, checkpoint interval.",
  "regions[].node.intake":
    "Command intake: commands in flight (`maxInFlight`), redelivery delay of an unacknowledged command (`ackWaitMs`), request/reply on or off.",
  "regions[].node.anchor":
    'Head anchoring to a file outside the store (RUNBOOK "Anchors"): folder, interval, key variable.',
  "regions[].node.http":
    "The node's own HTTP intake (`POST /v1/commands`), off by default under `stockline up`.",
  "regions[].node.partitioning":
    "Several node processes per region (docs/scale-out.md): `enabled`, the partitions `locations` (default: the region's locations), `preferred` ones, lease `leaseTtlMs` (default 5000) and `renewEveryMs` (default 1000). Each process gets its id from `stockline part node --node-id`; needs a shared store (PostgreSQL or EventStoreDB). `stockline up` runs one node per region.",
  locations:
    "Master data of locations. A command naming a location not listed here is dead-lettered (`unknownLocation`); a command may omit the region, which comes from here.",
  "locations[].id": "The canonical location id (`position.location` of every command and event).",
  "locations[].region": "The region whose node keeps this location's positions.",
  "locations[].name": "A name for people (dashboards, reports).",
  "locations[].gln": "GS1 Global Location Number (EPCIS and EDI documents name locations by it).",
  "locations[].codes":
    'Per source system (its id), how that system names this location: SAP `{ "plant": "NL01", "storageLocation": "0001" }`, Dynamics 365 `{ "siteId": "NJ", "locationId": "NJ-01" }`, a WMS `{ "facility": "AMS1" }`. Connectors translate through these; posting targets post to them.',
  systems:
    "Source systems and channels: every `source.system` a command may carry. Each has its own credential (a NATS user, or an API key bound to it).",
  "systems[].id": "The `source.system` of what it reports or requests.",
  "systems[].kind":
    "What it is: `wms`, `erp`, `oms`, `channel` (a web shop or marketplace, reserving through the API), `edi`, `3pl`, `mes`, `other`.",
  "systems[].name": "A name for people.",
  "systems[].regions": "Regions it sends commands to (default: all).",
  "systems[].nats": "Its own NATS credentials when it publishes commands itself (external mode).",
  nats: "How the parts reach NATS.",
  "nats.mode":
    "`managed` (default): `stockline up` starts a local hub and one server per region. `external`: the servers in `regions[].nats` and `nats.hub` exist already.",
  "nats.secured": "Managed mode: a NATS user per part and system with subject permissions (default true).",
  "nats.hub": "The hub's servers and credentials (global projector, API, reconciler).",
  "nats.hubDomain":
    "The hub's JetStream domain (default `hub`); an ordinary single server without domains works too.",
  products:
    "Products and their units. With a closed catalogue a SKU not listed is unknown: its commands are dead-lettered (`unknownSku`) and availability answers 404.",
  "products.items": "The products.",
  "products.items[].sku": "The canonical SKU.",
  "products.items[].baseUom": "Base unit of measure: every quantity is an integer in it.",
  "products.items[].name": "A name for people.",
  "products.items[].conversions":
    'Units and their sizes, as people say them: `{ "uom": "CS", "quantity": 12, "of": "EA" }` is 1 CS = 12 EA. A quantity that would need a fraction of the base unit is refused.',
  "products.items[].conversions[].uom": "The unit being defined.",
  "products.items[].conversions[].quantity": "How many `of` one `uom` is.",
  "products.items[].conversions[].of": "The unit it is expressed in (the base unit or another defined unit).",
  "products.items[].lotTracked": "Receipts and moves of this product must name a lot.",
  "products.items[].codes":
    "Per source system, its own item number when it differs from the SKU (a SAP material number).",
  "products.catalogue":
    "`closed` (default): only listed SKUs are known. `open`: any SKU, in `defaultBaseUom`.",
  "products.defaultBaseUom": "Base unit of SKUs not listed in an open catalogue (default `EA`).",
  statuses:
    'Per source system, its own stock-status codes mapped to the canonical statuses (`available`, `inspection`, `blocked`, `consigned`): e.g. SAP `{ "QI": "inspection", "BLOCKED": "blocked" }`. A code that is neither canonical nor mapped is dead-lettered with the codes the source may use.',
  ownership:
    "Who owns which movement where (DESIGN §3.7): rules tried in order, the first whose movements and locations match decides; a command from another system is dead-lettered naming the rule.",
  "ownership.rules": "The rules, in order.",
  "ownership.rules[].name": "Shown in the dead letter of a refused command.",
  "ownership.rules[].movements": "Movement kinds the rule covers (`*` for all).",
  "ownership.rules[].owners": "Systems or channels allowed to report these movements.",
  "ownership.rules[].locations": "Glob over location ids (`DC-*`; default `*`).",
  "ownership.otherwise": "What happens to a command no rule covers: `allow` or `deny`.",
  routing:
    "Which committed events are posted to which posting targets. Every matching rule adds its target; a target never receives a movement its own system reported (no echo).",
  "routing.rules": "The rules.",
  "routing.rules[].target": "A posting target id (`postings.targets[].id`).",
  "routing.rules[].events": "Event types (`*` for all).",
  "routing.rules[].name": "A name for logs and traces.",
  "routing.rules[].locations": "Glob over location ids (default `*`).",
  "routing.rules[].regions": "Regions the rule applies to (default all).",
  postings: "Outbound postings to ERPs, acknowledged and retried (one posting worker per target).",
  "postings.targets": "The targets.",
  "postings.targets[].id": "Target id, named by routing rules.",
  "postings.targets[].system":
    "The ERP system (kind `erp`) whose API this is: its location codes (`locations[].codes.<system>`) are where postings go, and its own movements are not echoed back to it.",
  "postings.targets[].kind":
    "The API spoken: SAP S/4HANA material documents, or Dynamics 365 Inventory Visibility.",
  "postings.targets[].baseUrl": "The API's base URL.",
  "postings.targets[].environmentId": "Dynamics 365: the environment id.",
  "postings.targets[].organizationId": "Dynamics 365: the organisation (legal entity) id.",
  "postings.targets[].timeoutMs": "Per-request timeout.",
  "postings.targets[].reconcile": "Reconcile this target's balances against the event ledger (default true).",
  simulators:
    "ERPs stood in by simulators that speak their real payload formats (demo, tests): `stockline up` runs one per entry on its port.",
  "simulators[].target": "The posting target it stands in for.",
  "simulators[].port": "Its port on 127.0.0.1.",
  "simulators[].errorRate": "Share of requests answered with an error (0..1).",
  "simulators[].lostResponseRate": "Share of requests applied whose response is lost (0..1).",
  "simulators[].latencyMs": "Added latency per request.",
  "simulators[].allowNegativeStock":
    "Let the simulated ERP go below zero (SAP's transit storage location across systems).",
  reconciliation: "Periodic reconciliation of each target's balances against the event ledger.",
  "reconciliation.everyMs": "Interval between runs (default 60000).",
  "reconciliation.enabled": "Run the reconciler (default true when there are posting targets).",
  api: "The HTTP API: availability, reservations, positions, history, trace, dead letters, postings, reconciliation, reference data.",
  "api.http": "Where it listens (default 127.0.0.1:8080).",
  "api.keys":
    "API keys. Secrets by digest (`keySha256`), file (`keyFile`) or variable (`keyEnv`), never in clear in a file; `stockline keys new` makes one.",
  "api.keys[].name": "The caller's name (recorded with what it does).",
  "api.keys[].roles": "Roles: `commerce`, `warehouse`, `operations`, `finance`.",
  "api.keys[].key": "A key in clear: refused in a file (only for configurations built in a program).",
  "api.keys[].keySha256": "SHA-256 of the key (hex), or several during a rotation.",
  "api.keys[].keyFile": "File holding the key (or `sha256:<hex>`).",
  "api.keys[].keyEnv": "Environment variable holding the key.",
  "api.keys[].systems": "Systems or channels this key may post commands for.",
  "api.keys[].channel":
    "The channel this key speaks for: its reservations carry the channel as `source.system`, so ownership rules can name it.",
  "api.keys[].rateLimit": "This key's own rate limit.",
  "api.rateLimit": "Default rate limit per key: `max` requests per `windowMs`.",
  "api.staleAfterMs":
    "A region out of sync for longer than this is flagged stale and its ATP is held back (default 15000).",
  "api.nats": "The API's credentials on the hub (default: `nats.hub`).",
  node: "Settings of every regional node (see `regions[].node`).",
  connectors:
    "Source systems that send their own documents (EDI, EPCIS, SAP material documents, Dynamics 365, Shopify webhooks, balance snapshots): `stockline part connectors` translates them into commands through the master data (docs/connectors.md). `stockline translate --config <file> --source <system> FILE` tries a document without sending anything.",
  "connectors.http": "Where `POST /v1/inbound/<system>` listens: `host` and `port` (default 127.0.0.1:8081).",
  "connectors.http.host": "Interface to listen on (default 127.0.0.1).",
  "connectors.http.port": "Port (default 8081; 0 picks a free one).",
  "connectors.sources":
    "One entry per source system: its format and its transports. Its codes map through `locations[].codes.<system>`, `products.items[].codes.<system>` and `statuses.<system>`.",
  "connectors.sources[].system":
    "The source system (`systems[].id`): the `source.system` of every command its documents yield.",
  "connectors.sources[].format":
    "`x12` (ANSI X12 004010 944/945/947/846/856/943, a 997 for every interchange), `epcis` (GS1 EPCIS 2.0 JSON), `sap-material-document`, `d365-inventory-visibility`, `balance-snapshot` (CSV or JSON), `shopify` (webhooks).",
  "connectors.sources[].dropFolder":
    "A folder watched for files of this source: each file is translated, then moved to `done/` or `failed/` beside a `<file>.report.json`, never deleted.",
  "connectors.sources[].http":
    "Accept documents at `POST /v1/inbound/<system>` with an API key bound to the system (`api.keys[].systems`); default true.",
  "connectors.sources[].epcisSchemaFile":
    "EPCIS: the path of GS1's EPCIS JSON Schema (`EPCIS-JSON-Schema.json`), which documents are validated against; not bundled, as its licence is unclear.",
  "connectors.sources[].shopify":
    "Shopify: `secretEnv`, the variable holding the app's secret that signs webhooks (`X-Shopify-Hmac-Sha256`); `push`, where availability is pushed to.",
  "connectors.sources[].shopify.secretEnv": "The environment variable holding the Shopify app's secret.",
  "connectors.sources[].shopify.push":
    "Push availability to the shop: on every change of global ATP of a SKU-location the shop sells (both mapped in master data), `inventorySetQuantities` with the location's ATP, coalesced per SKU, paced by Shopify's cost-based throttling, retried.",
  "connectors.sources[].shopify.push.graphqlUrl":
    "The shop's Admin GraphQL endpoint, e.g. `https://<shop>.myshopify.com/admin/api/2024-07/graphql.json`.",
  "connectors.sources[].shopify.push.accessTokenEnv":
    "The environment variable holding the Admin API access token (`X-Shopify-Access-Token`).",
  "connectors.sources[].complete":
    "Balance snapshots: each lists everything at the locations it names, so a listed product absent there counts 0 (default false: absent is unknown).",
  alerts:
    "Notifications to people (services/alerts): open command and posting dead letters, unexplained drift, a stale region, a sync-latency SLO breach, an open breaker; each names the business object (SKU, location, documents, quantity, ERP) and links its RUNBOOK entry. Grouped per condition and object, rate limited per receiver, and resolved when the condition clears.",
  "alerts.receivers": "Who is notified.",
  "alerts.receivers[].name": "The receiver's name (logs).",
  "alerts.receivers[].kind":
    "`webhook`: a JSON body with the alert, its business context and runbook link (any tool that takes JSON). `slack`: a Slack-compatible incoming-webhook body (`text` and `blocks`).",
  "alerts.receivers[].urlEnv":
    "Environment variable holding the receiver's URL (one of `urlEnv`, `urlFile`).",
  "alerts.receivers[].urlFile": "File holding the receiver's URL.",
  "alerts.receivers[].minSeverity":
    "Only alerts at least this severe (`info`, `warning`, `critical`; default all).",
  "alerts.groupWindowMs":
    "A new condition waits this long before it is notified, so that what arrives meanwhile (more dead letters of the same SKU) is one notification with a count; a changed count is notified at most this often (default 60000).",
  "alerts.rateLimit":
    "Per receiver: at most `max` notifications per `windowMs` (default 20 per 60000); the rest wait, folded per alert.",
  "alerts.runbookBaseUrl":
    "Where RUNBOOK.md is read (e.g. `https://git.example.com/stockline/blob/main/RUNBOOK.md`); alerts link `<runbookBaseUrl>#<section>` (default `RUNBOOK.md`).",
  "alerts.pollMs": "How often the conditions are read (default 15000).",
  "alerts.slo":
    "The sync-latency objective: of the events reaching a stage, at least `objective` (0..1) within `seconds` of their business time (stockline_sync_latency_seconds); `stages` limits it to `applied`, `projected`, `posted`.",
};

/** Paths that need a sentence: every section and every field of the top two levels. */
export const mustBeDocumented = (f: CodecField): boolean =>
  f.sameAs === undefined && (f.path.match(/\./g)?.length ?? 0) <= 1;

const basePath = (p: string): string => p.replace(/ \(.*\)$/, "");

export const configFields = (): CodecField[] => codecFields(DistributorConfigC);

const cell = (s: string): string => s.replace(/\|/g, "\\|");

/** The reference as Markdown. */
export const renderConfigReference = (): string => {
  const fields = configFields();
  const lines = [
    "# Configuration reference",
    "",
    "<!-- generated by `stockline config reference` from infra/config/distributor-config.ts; do not edit -->",
    "",
    "One JSON document describes a distributor; every part (`stockline part <name> --config file`) and",
    "`stockline up --config file` read it. `stockline config check file` validates one and names each",
    "wrong field, its value and what was expected. Examples: `config/demo.json` (the demo distributor),",
    "`config/minimal.json` (one region, one warehouse), `config/production.json` (the shape of a",
    "production deployment: NATS clusters, EventStoreDB, hashed keys).",
    "",
    "`*` marks a field that must be present when its section is.",
    "",
  ];
  let section = "";
  for (const f of fields) {
    const top = f.path.split(/[.[ ]/)[0] ?? "";
    if (top !== section) {
      section = top;
      lines.push(
        "",
        `## \`${top}\``,
        "",
        FIELD_DOCS[top] ?? "",
        "",
        "| field | expected | what |",
        "|---|---|---|",
      );
      if (f.path === top) continue;
    }
    const doc = FIELD_DOCS[basePath(f.path)] ?? (f.sameAs ? `The same shape as \`${f.sameAs}\`.` : "");
    const expected = f.sameAs ? `as \`${f.sameAs}\`` : f.expected;
    lines.push(`| \`${f.path}\`${f.required ? " *" : ""} | ${cell(expected)} | ${cell(doc)} |`);
  }
  return `${lines.join("\n")}\n`;
};

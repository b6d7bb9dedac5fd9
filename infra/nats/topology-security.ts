/**
 * Users and subject permissions of a secured local topology (issue 9, RUNBOOK "Trust model").
 *
 * One user per role and server, a random password per user and run (written only into the topology's
 * temporary folder), no anonymous access:
 * - `node-<r>` (region r's server): its region's JetStream (`$JS.API.>` on that server holds only the
 *   region's streams), acks, `inv.evt.<r>.>`, `inv.dlq.<r>.>`, its KV buckets, its anchor copy, its own
 *   derived commands on the 5-token `inv.cmd.*.*.*` (an inbound transfer may go to another region: nodes
 *   trust each other), requests of the region's own services (expiry, retries), replies; it serves
 *   `inv.req.<r>` and `inv.req.<r>.>`.
 * - a source user (a WMS, an ERP connector, the API as a channel) speaks for its systems only: on a region
 *   server `inv.cmd.<r>.<system>.*.*` and `inv.req.<r>.<system>`, on the hub `inv.req.<r>.<system>` (which
 *   crosses the leaf link). A source user with `projector: true` also holds the projector's rights.
 * - `projector` (hub): the hub's JetStream (mirrors, `atp_global`), read access to each region's domain
 *   (`$JS.<r>.API.` info, ephemeral consumers, direct get; no delete, purge or durable), dead letters
 *   into `inv.dlq.<r>.>`.
 * - `leaf-<r>`: the region's leaf link into the hub; the region refuses unattributed requests coming
 *   over it (`deny_imports`). No hub user may publish a command, so none reaches a region's intake.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { NatsAuth } from "../config/nats-auth.ts";
import { assertRegionId, sourceCmdWildcard, sourceReqSubject } from "./subjects.ts";

export type SourceUser = {
  /** The `source.system` values this user may send as. */
  systems: readonly string[];
  /** Also the projector's rights on the hub (the API runs its own global projector). */
  projector?: boolean;
};

export type SecurityOptions = {
  /** Source users by name (e.g. `wms`, `sap`, `api`). */
  sources: Readonly<Record<string, SourceUser>>;
  /**
   * TLS on client and leaf connections with a CA generated for this run by `openssl` (default false);
   * `auth()` then carries the CA file, and plain connections are refused.
   */
  tls?: boolean;
};

/** Files of the run's CA and the servers' certificate (127.0.0.1 / localhost). */
export type TlsFiles = { caFile: string; certFile: string; keyFile: string };

type Permissions = {
  publish: string[];
  subscribe: string[];
  /** May publish to the reply subject of a request it received (the node answering requests). */
  allowResponses?: boolean;
};
type User = { user: string; password: string; permissions: Permissions };

export interface TopologyCredentials {
  /** Credentials of `user` on `server` (`hub` or a region): a user name and a password file. */
  auth(server: string, user: string): NatsAuth;
  /** The leaf link's user and password of a region (for the remote URL). */
  leaf(region: string): { user: string; password: string };
  /** The `authorization { ... }` block of a server. */
  authorizationBlock(server: string): string;
  /** The hub's `leafnodes { authorization { ... } }` users. */
  leafAuthorizationBlock(): string;
  /** With `tls`: the CA and the servers' certificate. */
  readonly tls: TlsFiles | undefined;
}

const run = (args: readonly string[]): Promise<void> =>
  new Promise((resolve, reject) => {
    execFile("openssl", args, (err, _out, stderr) =>
      err ? reject(new Error(`openssl ${args[0]} failed: ${stderr || err.message}`)) : resolve(),
    );
  });

/** A CA and a server certificate for 127.0.0.1, valid one day, made for this run only. */
export const generateTls = async (dir: string): Promise<TlsFiles> => {
  const tlsDir = path.join(dir, "tls");
  await mkdir(tlsDir, { recursive: true, mode: 0o700 });
  const f = (name: string) => path.join(tlsDir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.pem"),
    "-days",
    "1",
    "-subj",
    "/CN=stockline-test-ca",
  ]);
  await run(["req", ...ec, "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=127.0.0.1"]);
  await writeFile(f("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await run([
    "x509",
    "-req",
    "-in",
    f("server.csr"),
    "-CA",
    f("ca.pem"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-out",
    f("server.pem"),
    "-days",
    "1",
    "-extfile",
    f("san.ext"),
  ]);
  return { caFile: f("ca.pem"), certFile: f("server.pem"), keyFile: f("server.key") };
};

const secret = (): string => randomBytes(24).toString("base64url");
const q = (s: string) => JSON.stringify(s);
const list = (xs: readonly string[]) => `[${xs.map(q).join(", ")}]`;

/**
 * Each user has an inbox prefix of its own (`_INBOX_<user>`, set by `auth()`) and may subscribe only
 * there: nobody reads another's replies (a reservation decision, a PubAck). The node answers requests
 * through `allow_responses`.
 */
export const inboxPrefixOf = (user: string): string => `_INBOX_${user}`;
const ownInbox = (user: string): string => `${inboxPrefixOf(user)}.>`;
const USER_NAME = /^[A-Za-z0-9_-]+$/;

const nodePermissions = (region: string): Permissions => ({
  publish: [
    "$JS.API.>",
    "$JS.ACK.>",
    "$JS.FC.>",
    // Derived commands (an inbound transfer, into this or another region) are the node's own: 5 tokens.
    "inv.cmd.*.*.*",
    // The region's own services speak for the region (reservation expiry, an operator's retry).
    `inv.req.${region}`,
    `inv.req.${region}.>`,
    `inv.evt.${region}.>`,
    `inv.dlq.${region}.>`,
    `inv.anchor.${region}`,
    `inv.anchor.${region}.>`,
    `$KV.atp_${region}.>`,
    `$KV.atp_res_${region}.>`,
    `$KV.node_status_${region}.>`,
    // An operator's retry or resolve of a dead letter, recorded by the region's services (the API's desk).
    `$KV.dlq_state_${region}.>`,
    // A partitioned region: a request is forwarded to the node that owns its location (docs/scale-out.md);
    // only node users may, so nobody else can forward a request under another's reply subject.
    `inv.own.${region}.>`,
  ],
  subscribe: [ownInbox(`node-${region}`), `inv.req.${region}`, `inv.req.${region}.>`, `inv.own.${region}.>`],
  allowResponses: true,
});

const projectorPermissions = (user: string, regions: readonly string[]): Permissions => ({
  publish: [
    "$JS.API.>",
    "$JS.ACK.>",
    "$JS.FC.>",
    "$KV.atp_global.>",
    ...regions.flatMap((r) => [
      `$JS.${r}.API.INFO`,
      `$JS.${r}.API.STREAM.INFO.>`,
      `$JS.${r}.API.STREAM.NAMES`,
      `$JS.${r}.API.STREAM.LIST`,
      `$JS.${r}.API.STREAM.MSG.GET.>`,
      `$JS.${r}.API.DIRECT.GET.>`,
      // Ephemeral and ordered consumers to read (KV keys and watches); no durable, no delete.
      `$JS.${r}.API.CONSUMER.CREATE.>`,
      `$JS.${r}.API.CONSUMER.INFO.>`,
      `$JS.${r}.API.CONSUMER.MSG.NEXT.>`,
      `inv.dlq.${r}.>`,
    ]),
  ],
  subscribe: [ownInbox(user)],
});

const sourcePermissions = (
  user: string,
  server: string,
  regions: readonly string[],
  source: SourceUser,
  hub: string,
): Permissions => {
  const onRegions = server === hub ? regions : [server];
  return {
    publish: [
      ...onRegions.flatMap((r) =>
        source.systems.flatMap((s) => [
          sourceReqSubject(r, s),
          ...(server === hub ? [] : [sourceCmdWildcard(r, s)]),
        ]),
      ),
    ],
    subscribe: [ownInbox(user)],
  };
};

const merge = (a: Permissions, b: Permissions): Permissions => ({
  publish: [...new Set([...a.publish, ...b.publish])],
  subscribe: [...new Set([...a.subscribe, ...b.subscribe])],
  ...(a.allowResponses || b.allowResponses ? { allowResponses: true } : {}),
});

/**
 * Generates every user of the topology with a fresh password, writes each password to
 * `<dir>/credentials/<server>/<user>.password` (mode 0600), and returns how to use them.
 */
export const generateCredentials = async (
  dir: string,
  hub: string,
  regions: readonly string[],
  opts: SecurityOptions,
): Promise<TopologyCredentials> => {
  for (const r of regions) assertRegionId(r);
  const users = new Map<string, User[]>();
  for (const server of [hub, ...regions]) {
    const own: User[] = [];
    const isHub = server === hub;
    if (!isHub)
      own.push({ user: `node-${server}`, password: secret(), permissions: nodePermissions(server) });
    else
      own.push({
        user: "projector",
        password: secret(),
        permissions: projectorPermissions("projector", regions),
      });
    for (const [name, source] of Object.entries(opts.sources)) {
      if (!USER_NAME.test(name))
        throw new Error(`source user ${JSON.stringify(name)}: expected [A-Za-z0-9_-]+ (it names an inbox)`);
      let permissions = sourcePermissions(name, server, regions, source, hub);
      if (isHub && source.projector) permissions = merge(permissions, projectorPermissions(name, regions));
      own.push({ user: name, password: secret(), permissions });
    }
    users.set(server, own);
  }
  const leaves = new Map(regions.map((r) => [r, { user: `leaf-${r}`, password: secret() }]));
  const tls = opts.tls ? await generateTls(dir) : undefined;

  const credDir = path.join(dir, "credentials");
  const files = new Map<string, string>();
  for (const [server, own] of users)
    for (const u of own) {
      const file = path.join(credDir, server, `${u.user}.password`);
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await writeFile(file, u.password, { mode: 0o600 });
      await chmod(file, 0o600);
      files.set(`${server}/${u.user}`, file);
    }

  return {
    tls,
    auth: (server, user) => {
      const file = files.get(`${server}/${user}`);
      if (!file)
        throw new Error(
          `no user ${JSON.stringify(user)} on ${JSON.stringify(server)}; there are ${[...files.keys()].join(", ")}`,
        );
      return {
        user,
        passwordFile: file,
        inboxPrefix: inboxPrefixOf(user),
        ...(tls ? { tls: { caFile: tls.caFile } } : {}),
      };
    },
    leaf: (region) => {
      const leaf = leaves.get(region);
      if (!leaf) throw new Error(`no leaf user for region ${JSON.stringify(region)}`);
      return leaf;
    },
    authorizationBlock: (server) => {
      const own = users.get(server) ?? [];
      const entries = own.map(
        (u) => `    { user: ${q(u.user)}, password: ${q(u.password)}, permissions: {
        publish: { allow: ${list(u.permissions.publish)} }
        subscribe: { allow: ${list(u.permissions.subscribe)} }${u.permissions.allowResponses ? "\n        allow_responses: true" : ""}
      } }`,
      );
      return `authorization {\n  users: [\n${entries.join(",\n")}\n  ]\n}\n`;
    },
    leafAuthorizationBlock: () =>
      `  authorization {\n    users: [\n${[...leaves.values()]
        .map((l) => `      { user: ${q(l.user)}, password: ${q(l.password)} }`)
        .join(",\n")}\n    ]\n  }\n`,
  };
};

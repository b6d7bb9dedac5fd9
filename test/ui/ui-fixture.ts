/**
 * What the browser tests of the dashboards (issue 12) share: the UI bundle (built when missing or
 * older than its sources), one `stockline up` (test/e2e/up-fixture.ts) with two regions, an ERP
 * simulator as posting target and one API key per role, and Debian's chromium driven by
 * playwright-core (`make chromium` installs it). A test file starts one stack in `beforeAll` and opens
 * as many pages as it likes: `signIn(role)` gives a fresh browser context signed in with that role's key.
 * Screenshots go to `UI_SCREENSHOTS_DIR` (default `<tmpdir>/stockline-ui-screenshots`).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { type Browser, chromium, type Page } from "playwright-core";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { sourceCmdSubject } from "../../infra/nats/subjects.ts";
import { freePort, ROOT, type RunningUp, sleep, startUp } from "../e2e/up-fixture.ts";

export type UiRole = "operations" | "warehouse" | "finance" | "commerce";
export const UI_ROLES: readonly UiRole[] = ["operations", "warehouse", "finance", "commerce"];

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS_DIR =
  process.env.UI_SCREENSHOTS_DIR ?? path.join(tmpdir(), "stockline-ui-screenshots");

const UI_DIR = path.join(ROOT, "ui");
const DIST_INDEX = path.join(UI_DIR, "dist", "index.html");

const newestMtime = (p: string): number => {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(p).map((f) => newestMtime(path.join(p, f))));
};

/** Builds `ui/dist` when it is missing or older than `ui/src` (one builder at a time across test files). */
export const ensureUiBuilt = async (): Promise<void> => {
  const stale = () =>
    !existsSync(DIST_INDEX) ||
    statSync(DIST_INDEX).mtimeMs <
      Math.max(newestMtime(path.join(UI_DIR, "src")), newestMtime(path.join(UI_DIR, "index.html")));
  if (!stale()) return;
  const lock = path.join(UI_DIR, ".build-lock");
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another file's fixture is building; a lock older than 3 minutes is a crashed build's.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 180_000)
        rmSync(lock, { recursive: true });
      if (Date.now() > deadline) throw new Error(`ui build lock ${lock} held for 3 minutes`);
      await sleep(500);
    }
  }
  try {
    if (stale())
      execFileSync("npx", ["vite", "build", "--config", "ui/vite.config.ts", "--logLevel", "warn"], {
        cwd: ROOT,
        stdio: "inherit",
        timeout: 170_000,
      });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
};

/** Two regions, two DCs each with its WMS, an SAP ERP (simulated) all stock movements post to. */
export const uiConfig = (dataDir: string, apiPort: number, erpPort: number) => ({
  distributor: { name: "Dashboard test distributor", id: "uitest" },
  version: "ui-1",
  dataDir,
  nats: { mode: "managed", secured: true },
  regions: [{ id: "eu" }, { id: "us" }],
  locations: [
    { id: "DC-AMS", region: "eu", codes: { SAP_S4: { plant: "NL01", storageLocation: "0001" } } },
    { id: "DC-NJ", region: "us", codes: { SAP_S4: { plant: "US01", storageLocation: "0001" } } },
  ],
  systems: [
    { id: "WMS_EU", kind: "wms", regions: ["eu"] },
    { id: "WMS_US", kind: "wms", regions: ["us"] },
    { id: "SAP_S4", kind: "erp" },
    { id: "web-shop", kind: "channel" },
  ],
  products: { catalogue: "open", items: [], defaultBaseUom: "EA" },
  ownership: {
    rules: [
      {
        name: "WMS_EU and the ERP at DC-AMS",
        movements: ["*"],
        locations: "DC-AMS",
        owners: ["WMS_EU", "SAP_S4", "web-shop", "stockline-api", "stockline-expiry"],
      },
      {
        name: "WMS_US and the ERP at DC-NJ",
        movements: ["*"],
        locations: "DC-NJ",
        owners: ["WMS_US", "SAP_S4", "web-shop", "stockline-api", "stockline-expiry"],
      },
    ],
    otherwise: "deny",
  },
  routing: {
    rules: [
      {
        name: "stock movements to SAP",
        target: "sap",
        events: ["GoodsReceived", "ShipmentPosted", "CountRecorded", "StockAdjusted", "StatusChanged"],
      },
    ],
  },
  postings: {
    targets: [{ id: "sap", system: "SAP_S4", kind: "sap-s4hana", baseUrl: `http://127.0.0.1:${erpPort}` }],
  },
  simulators: [{ target: "sap", port: erpPort, allowNegativeStock: true }],
  reconciliation: { everyMs: 600_000 },
  node: { parkTimeoutMs: 60_000 },
  api: {
    http: { host: "127.0.0.1", port: apiPort },
    staleAfterMs: 10_000,
    keys: [
      { name: "ops-desk", roles: ["operations"], keyEnv: "UI_OPERATIONS_KEY" },
      { name: "warehouse-support", roles: ["warehouse"], keyEnv: "UI_WAREHOUSE_KEY" },
      { name: "finance-desk", roles: ["finance"], keyEnv: "UI_FINANCE_KEY" },
      { name: "control-tower", roles: ["commerce"], keyEnv: "UI_COMMERCE_KEY" },
    ],
  },
});

export interface UiStack {
  readonly up: RunningUp;
  /** The API's base URL (the dashboards are at `${api}/ui/`). */
  readonly api: string;
  readonly browser: Browser;
  readonly keys: Readonly<Record<UiRole, string>>;
  /** A fresh browser context signed in with the role's key, on its first view. */
  signIn(role: UiRole): Promise<Page>;
  /** The API directly, as a client (to set up data or check what the server refuses). */
  call(
    method: "GET" | "POST",
    p: string,
    role: UiRole,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
  /** A source system publishes a command as its own NATS user on its own subject. */
  publishAs(system: string, region: string, location: string, sku: string, command: object): Promise<void>;
  /** Saves a full-page screenshot as `<name>.png` in SCREENSHOTS_DIR; returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  stop(): Promise<void>;
}

let seq = 0;
/** A canonical receipt command of `system` (a fact) with a unique idempotency key. */
export const receipt = (system: string, location: string, sku: string, value: number, extra: object = {}) => {
  const key = `${system}-rcpt-${Date.now()}-${++seq}`;
  return {
    kind: "receiveGoods",
    idempotencyKey: key,
    source: { system, document: { type: "GoodsReceipt", id: `GR-${seq}` } },
    businessTime: new Date().toISOString(),
    correlationId: `corr-${key}`,
    position: { location, sku },
    quantity: { value, uom: "EA" },
    ...extra,
  };
};

export const startUiStack = async (): Promise<UiStack> => {
  await ensureUiBuilt();
  const keys = Object.fromEntries(
    UI_ROLES.map((r) => [r, `${r}-${randomBytes(24).toString("base64url")}`]),
  ) as Record<UiRole, string>;
  const [apiPort, erpPort] = [await freePort(), await freePort()];
  const up = await startUp({
    file: "ui-test.json",
    config: (_dir, dataDir) => uiConfig(dataDir, apiPort, erpPort),
    env: {
      UI_OPERATIONS_KEY: keys.operations,
      UI_WAREHOUSE_KEY: keys.warehouse,
      UI_FINANCE_KEY: keys.finance,
      UI_COMMERCE_KEY: keys.commerce,
    },
    readyTimeoutMs: 240_000,
  });
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
      timeout: 60_000,
    });
  } catch (err) {
    await up.stop();
    throw new Error(`chromium did not start from ${CHROMIUM} (run \`make chromium\`): ${String(err)}`);
  }
  const connections = new Map<string, NatsConnection>();
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });

  return {
    up,
    api: up.api,
    browser,
    keys,
    signIn: async (role) => {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      context.setDefaultTimeout(30_000);
      const page = await context.newPage();
      await page.goto(`${up.api}/ui/`);
      await page.locator('input[name="api-key"]').fill(keys[role]);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByTestId("who").waitFor();
      return page;
    },
    call: (method, p, role, body) => up.call(method, p, keys[role], body),
    publishAs: async (system, region, location, sku, command) => {
      const id = `${region}/${system}`;
      let nc = connections.get(id);
      if (!nc) {
        const auth = up.info.users[id];
        nc = await connectNats({
          servers: [...up.info.regions[region]!.servers],
          name: `ui-test-${system}`,
          ...(auth ? { auth } : {}),
        });
        connections.set(id, nc);
      }
      await jetstream(nc).publish(sourceCmdSubject(region, system, location, sku), JSON.stringify(command));
    },
    screenshot: async (page, name) => {
      const file = path.join(SCREENSHOTS_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    stop: async () => {
      for (const nc of connections.values()) await drainAndClose(nc).catch(() => {});
      await browser.close().catch(() => {});
      await up.stop();
    },
  };
};

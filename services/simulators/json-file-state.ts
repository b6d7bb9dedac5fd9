/**
 * Optional persistence of a simulator's state as one JSON file, rewritten atomically (temp file +
 * rename) after every change, so a restarted simulator keeps its ledger like a real ERP would.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export const loadJsonState = <T>(path: string | undefined): T | undefined => {
  if (path === undefined || !existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, "utf8")) as T;
};

export const saveJsonState = (path: string | undefined, state: unknown): void => {
  if (path === undefined) return;
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(state));
  renameSync(temp, path);
};

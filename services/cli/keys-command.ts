/**
 * `stockline keys new|hash`: API keys for the API's and the nodes' configurations
 * (infra/http/api-keys.ts). `new` prints a random key and its digest; `hash` reads a key from standard
 * input (never from the command line, where `ps` and the shell history would keep it) and prints the
 * digest to put in `keySha256` (or `sha256:<hex>` for a key file). A key shorter than
 * `MIN_KEY_CHARS` is refused (exit 2).
 */
import { randomBytes } from "node:crypto";
import type { Command } from "commander";
import { MIN_KEY_CHARS, sha256Hex } from "../../infra/http/api-keys.ts";

type Out = (line: string) => void;

const readStdin = async (): Promise<string> => {
  let text = "";
  for await (const c of process.stdin) text += String(c);
  return text;
};

export const registerKeysCommands = (program: Command, out: Out = (l) => console.log(l)): void => {
  const keys = program
    .command("keys")
    .description("API keys: make a new one, or hash one for a configuration");
  keys
    .command("new")
    .description(
      "print a new random API key and its SHA-256 digest (give the key to its holder, the digest to the config)",
    )
    .action(() => {
      const key = randomBytes(32).toString("base64url");
      out(`key:       ${key}`);
      out(`keySha256: ${sha256Hex(key)}`);
    });
  keys
    .command("hash")
    .description(
      `read API keys from standard input, one per line (at least ${MIN_KEY_CHARS} characters), print each digest`,
    )
    .action(async () => {
      const lines = (await readStdin())
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.length > 0);
      if (lines.length === 0) {
        console.error("stockline keys hash: no key on standard input");
        process.exitCode = 2;
        return;
      }
      for (const [i, key] of lines.entries()) {
        if (key.length < MIN_KEY_CHARS) {
          console.error(
            `stockline keys hash: key ${i + 1} has ${key.length} characters; expected at least ${MIN_KEY_CHARS} (make one with: stockline keys new)`,
          );
          process.exitCode = 2;
          return;
        }
        out(sha256Hex(key));
      }
    });
};

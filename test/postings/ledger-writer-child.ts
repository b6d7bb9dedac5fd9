/**
 * Child process of postings-ledger-concurrency.test.ts: opens the ledger file given as argv[2]
 * and writes argv[4] postings under the prefix argv[3]; prints `done <reads>` or the error.
 */
import { PostingsLedger } from "../../services/postings/postings-ledger.ts";
import { writePostings } from "./ledger-load.ts";

const [file, prefix, count] = process.argv.slice(2);
const ledger = new PostingsLedger(file as string);
try {
  // Start together with the parent: it writes as soon as it reads "ready".
  process.stdout.write("ready\n");
  const { reads } = writePostings(ledger, prefix as string, Number(count));
  process.stdout.write(`done ${reads}\n`);
} catch (err) {
  process.stdout.write(`error ${(err as { code?: string }).code ?? ""} ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  ledger.close();
}

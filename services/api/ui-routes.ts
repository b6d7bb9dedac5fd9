/**
 * The dashboards at `/ui/` (issue 12): the bundle `make ui-build` writes to `ui/dist`, served as public
 * static files. Only HTML, JS and CSS come from here; every figure the page shows is a `/v1` call made
 * with the signed-in key and checked against its roles like any other client's.
 *
 * - Hashed assets (`/ui/assets/*`) are cached for a year; `index.html` is revalidated every time, so a
 *   new build is seen on the next load.
 * - A Content-Security-Policy keeps the page to its own origin (no CDN, no inline script, no framing).
 * - Without a build, `/ui/` answers 503 saying how to make one, instead of a bare 404.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { sendError } from "../../infra/http/http-errors.ts";

export const UI_DIST_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "ui",
  "dist",
);

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

export const registerUiRoutes = async (
  app: FastifyInstance,
  opts: { readonly distDir?: string } = {},
): Promise<void> => {
  const root = opts.distDir ?? UI_DIST_DIR;
  app.get("/ui", { schema: { hide: true } }, (_req, reply) => reply.redirect("/ui/", 302));
  if (!existsSync(path.join(root, "index.html"))) {
    app.get("/ui/*", { schema: { hide: true } }, (_req, reply) =>
      sendError(
        reply,
        503,
        "ui_not_built",
        `the dashboards are not built (no ${path.join(root, "index.html")}): run \`make ui-build\` and restart the API`,
      ),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: "/ui/",
    index: "index.html",
    decorateReply: false,
    cacheControl: false,
    setHeaders: (reply, file) => {
      reply.header("content-security-policy", CSP);
      reply.header("x-content-type-options", "nosniff");
      reply.header("referrer-policy", "no-referrer");
      reply.header("x-frame-options", "DENY");
      reply.header(
        "cache-control",
        file.includes(`${path.sep}assets${path.sep}`) ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  });
};

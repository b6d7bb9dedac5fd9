import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start real nats-server processes; give them room but keep every test bounded.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // 2-core machine: more parallel files only adds contention between nats-server processes.
    maxWorkers: 2,
    reporters: ["default"],
  },
});

import { defineConfig } from "vitest/config";

// Two projects: unit tests (pure logic, no engine) and integration tests (real containers,
// real iptables, real packets) that share one lab started once in global setup. fwlab's state
// (lab tokens, last runs) goes to a folder of the test run's own, never the user's.
const state = { FWLAB_STATE_DIR: "test-results/state" };
export default defineConfig({
  test: {
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"], env: state } },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/integration/global-setup.ts"],
          // One engine, two cores: files run one at a time, so labs do not compete for CPU
          // and timing-sensitive probes stay honest.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
          env: { TESTCONTAINERS_RYUK_DISABLED: "true", ...state },
        },
      },
    ],
  },
});

import type { TestProject } from "vitest/node";
import { removeLab, startLab } from "../../src/index.ts";
import { labStatus } from "../../src/lab/lab-status.ts";
import { connectEngine } from "../../src/runtime/engine.ts";

/** The lab the integration tests share: the default lab file, under its own name. */
export const SHARED_LAB = "fwtest";

/**
 * Starts the shared lab, or reuses it when it is already up and ready (a developer keeping it
 * running between runs of single test files); only a lab started here is removed at the end.
 */
export default async function setup(project: TestProject) {
  const engine = await connectEngine();
  const started = performance.now();
  const status = await labStatus(engine.runtime, SHARED_LAB);
  const reuse = status.ready && status.nodes.length > 0;
  if (!reuse) await startLab("docker-compose.yml", { name: SHARED_LAB, engine });
  process.stderr.write(
    `[global-setup] shared lab ${SHARED_LAB} ${reuse ? "reused" : "up"} in ${Math.round(performance.now() - started)} ms\n`,
  );
  project.provide("sharedLab", SHARED_LAB);
  return async () => {
    if (!reuse) await removeLab(engine, SHARED_LAB);
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    sharedLab: string;
  }
}

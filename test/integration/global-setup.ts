import type { TestProject } from "vitest/node";
import { removeLab, startLab } from "../../src/index.ts";
import { DockerRuntime } from "../../src/runtime/docker-runtime.ts";

/** The lab the integration tests share: the default lab file, under its own name. */
export const SHARED_LAB = "fwtest";

export default async function setup(project: TestProject) {
  const runtime = await DockerRuntime.connect();
  const started = performance.now();
  const lab = await startLab("docker-compose.yml", { name: SHARED_LAB, runtime });
  process.stderr.write(
    `[global-setup] shared lab ${lab.name} up in ${Math.round(performance.now() - started)} ms\n`,
  );
  project.provide("sharedLab", SHARED_LAB);
  return async () => {
    await removeLab(runtime, SHARED_LAB);
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    sharedLab: string;
  }
}

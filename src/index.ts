/**
 * fwlab's library API, for a user's own tests:
 *
 *   await using lab = await startLab("docker-compose.yml");
 *   await lab.loadRuleset("fw", "rules/default-drop.sh");
 *   const r = await lab.exec("client", ["ping", "-c1", "-W1", "web"]);
 */
export { FwlabError, InputError } from "./errors.ts";
export type { LoadedRuleset } from "./firewall/load-ruleset.ts";
export {
  findChain,
  parseSave,
  type SavedChain,
  type SavedRule,
  type SavedTable,
} from "./firewall/parse-save.ts";
export { buildImages } from "./images/build-images.ts";
export type { LabNode } from "./lab/lab-node.ts";
export { type LabStatus, labStatus, type NodeStatus } from "./lab/lab-status.ts";
export { removeLab } from "./lab/remove-lab.ts";
export { type StartLabOptions, startLab, startLabSpec } from "./lab/start-lab.ts";
export { StartedLab } from "./lab/started-lab.ts";
export type { ContainerRuntime } from "./runtime/container-runtime.ts";
export { connectEngine, type Engine } from "./runtime/engine.ts";
export type { EngineChoice } from "./runtime/engine-endpoint.ts";
export type { ExecResult } from "./runtime/exec-result.ts";
export type { HostShell } from "./runtime/host-shell.ts";
export type { Backend, LabSpec, NodeSpec } from "./topology/lab-spec.ts";
export { readLabFile } from "./topology/read-lab-file.ts";

import { removeLab } from "./lab/remove-lab.ts";
import { StartedLab } from "./lab/started-lab.ts";
import { connectEngine } from "./runtime/engine.ts";
import type { EngineChoice } from "./runtime/engine-endpoint.ts";

/** Attaches to a lab that is already running (started by `fwlab up` or another process). */
export async function attachLab(name: string, engine?: EngineChoice): Promise<StartedLab> {
  return StartedLab.attach(await connectEngine(engine), name);
}

/** Removes a lab by name, running or not. Idempotent. */
export async function stopLab(name: string, engine?: EngineChoice): Promise<void> {
  await removeLab(await connectEngine(engine), name);
}

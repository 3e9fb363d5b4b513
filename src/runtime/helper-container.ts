import { FwlabError } from "../errors.ts";
import type { ContainerCreate, ContainerRuntime } from "./container-runtime.ts";
import { isConflict } from "./engine-errors.ts";
import { HOSTD } from "./host-shell.ts";
import { LABEL } from "./labels.ts";

export const HELPER_IMAGE = "fwlab/hostd:latest";

/**
 * What the host helper needs of its host, and nothing more: the host's network namespace (lab
 * bridges, veths, the host's firewall, its sysctls), its PID namespace (a node's namespaces by
 * the PID the engine reports), the kernel log, and these capabilities:
 *   NET_ADMIN  bridges, veths, nft and iptables, net sysctls
 *   SYS_ADMIN  setns into a node's network namespace (its sysctls)
 *   SYS_PTRACE open another process's /proc/PID/ns/net
 *   SYSLOG     read /dev/kmsg where dmesg_restrict is on
 * /proc is not masked or read-only (it writes /proc/sys of its host).
 */
export const HELPER_CAPS = ["NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE", "SYSLOG"];

/** The xtables lock of the host, shared so iptables-legacy in the helper and on the host take turns. */
const XTABLES_LOCK = "/run/xtables.lock";

/**
 * The helper container on this engine, started if need be: one per engine host and helper
 * image, named after the image so a rebuilt image gets a helper of its own (one still used by
 * a running fwlab of the older image is left to `down --all`). Reused by every command and lab;
 * two fwlab processes starting it at once end up with the same one.
 */
export async function ensureHelper(runtime: ContainerRuntime, engineName: string): Promise<string> {
  const imageId = await runtime.images.imageId(HELPER_IMAGE);
  if (!imageId) {
    throw new FwlabError(
      `the host helper image ${HELPER_IMAGE} is not on engine ${engineName}; build the images there with \`fwlab images\``,
    );
  }
  const name = `fwlab-hostd-${imageId.replace(/^sha256:/, "").slice(0, 12)}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    const found = (await runtime.listContainers({ [LABEL.helper]: "hostd" })).find((c) => c.name === name);
    if (found?.state === "running") return found.id;
    if (found) await runtime.removeContainer(found.id); // exited (a reboot, a kill): made again
    try {
      const id = await runtime.createContainer(await helperSpec(runtime, name, true));
      await runtime.startContainer(id);
      await retireOlderHelpers(runtime, name);
      return id;
    } catch (err) {
      if (isConflict(err)) continue; // another fwlab made it first: use theirs
      if (/bind source path does not exist/.test(String((err as Error).message))) {
        // No xtables lock file on this host: nothing uses iptables-legacy there.
        const id = await runtime.createContainer(await helperSpec(runtime, name, false));
        await runtime.startContainer(id);
        await retireOlderHelpers(runtime, name);
        return id;
      }
      throw new FwlabError(
        `the host helper could not start on engine ${engineName}: ${(err as Error).message.split("\n")[0]}; ` +
          "`fwlab doctor` says what this engine refuses",
        1,
        { cause: err },
      );
    }
  }
  throw new FwlabError(`the host helper on engine ${engineName} kept going away while it started; try again`);
}

async function helperSpec(
  runtime: ContainerRuntime,
  name: string,
  lockMount: boolean,
): Promise<ContainerCreate> {
  const security = (await runtime.info()).securityOptions.join(" ");
  return {
    name,
    image: HELPER_IMAGE,
    entrypoint: ["node", HOSTD, "daemon"],
    command: [],
    env: lockMount ? { XTABLES_LOCKFILE: XTABLES_LOCK } : {},
    labels: { [LABEL.helper]: "hostd" },
    capAdd: HELPER_CAPS,
    sysctls: {},
    network: "host",
    hostNamespaces: {
      pid: "host",
      // An engine that remaps users refuses host namespaces unless the helper opts out of it.
      ...(/name=userns/.test(security) ? { userns_mode: "host" as const } : {}),
    },
    devices: ["/dev/kmsg"],
    unmaskedProc: true,
    // AppArmor's docker-default profile forbids writing /proc/sys/net.
    securityOpt: /name=apparmor/.test(security) ? ["apparmor=unconfined"] : [],
    mounts: lockMount ? [{ source: XTABLES_LOCK, target: XTABLES_LOCK }] : [],
  };
}

/**
 * Helpers of earlier images (`fwlab images` rebuilt the helper's): nobody starts a session on
 * them any more, so they go when their successor starts instead of idling until `down --all`. A
 * process still in a session on one sees it end and starts its next on the new helper (as when a
 * helper goes away: helper-shell.ts), its listeners restarted and their gap reported.
 */
async function retireOlderHelpers(runtime: ContainerRuntime, current: string): Promise<void> {
  const older = (await runtime.listContainers({ [LABEL.helper]: "hostd" })).filter((h) => h.name !== current);
  // One that cannot be removed now (being removed already, the engine busy) is harmless: it
  // serves nobody new, and `down --all` removes it.
  await Promise.allSettled(older.map((h) => runtime.removeContainer(h.id)));
}

/** Removes every host helper on this engine (`down --all` once no lab is left). */
export async function removeHelpers(runtime: ContainerRuntime): Promise<number> {
  const helpers = await runtime.listContainers({ [LABEL.helper]: "hostd" });
  await Promise.all(helpers.map((h) => runtime.removeContainer(h.id)));
  return helpers.length;
}

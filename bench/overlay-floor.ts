import { checkSwarm } from "../src/cluster/check-swarm.ts";
import { connectHosts } from "../src/lab/lab-engines.ts";
import { nodeContainer } from "../src/lab/node-container.ts";
import { removeLab } from "../src/lab/remove-lab.ts";
import { OVERLAY_STARTS_PER_HOST } from "../src/lab/start-lab.ts";
import type { Engine } from "../src/runtime/engine.ts";
import { LABEL } from "../src/runtime/labels.ts";
import type { LabSpec } from "../src/topology/lab-spec.ts";
import { overlayReservation } from "../src/topology/overlay-reservation.ts";
import { networkHosts, placeLab } from "../src/topology/place-lab.ts";
import { limiter } from "../src/util/limiter.ts";

const BENCH_LABEL = "fwlab.bench";

/**
 * The engines' own floor for a lab across hosts: the lab's overlays made through the swarm's
 * manager, then the same containers (image, command, environment, capabilities, sysctls, fixed
 * addresses on those overlays) created and started on the hosts fwlab places them on, through
 * the API, with no readiness, no checks and no helpers; then removed. All at once but for the
 * engine's own limit: more than OVERLAY_STARTS_PER_HOST starts onto overlays at a time on a host
 * of this machine's simulated cluster fail after the engine's 20 s (src/lab/start-lab.ts). Where a
 * multi-host `up` goes is mostly the engines' own work of attaching containers to overlays (a
 * host's first container on an overlay makes the host's side of it: namespaces, VXLAN, a load
 * balancer endpoint; each container then gets its own endpoint and Docker's DNS rules), which no
 * tool that starts these containers on these engines can skip; `up` is measured against it.
 */
export async function overlayFloor(given: LabSpec, hosts: readonly string[]): Promise<number> {
  const spec = placeLab({ ...given, name: `floor${process.pid}` }, hosts);
  const { engines, unreachable } = await connectHosts(hosts);
  if (unreachable.length > 0) throw new Error(`overlay floor: ${JSON.stringify(unreachable)}`);
  const manager = await checkSwarm(engines);
  const spans = [...networkHosts(spec)].filter(([, h]) => h.length > 1).map(([net]) => net);
  const overlays = new Map(spans.map((net) => [net, `${spec.name}_${net}`]));
  const t0 = performance.now();
  await Promise.all(
    spans.map((net) => {
      const subnet = spec.networks.find((n) => n.name === net)!.subnet;
      const used = spec.nodes.flatMap((n) =>
        n.interfaces.filter((i) => i.network === net).map((i) => i.address),
      );
      const r = overlayReservation(subnet, used, hosts.length)!;
      return manager.runtime.networks.createOverlay({
        name: overlays.get(net)!,
        subnet,
        ipRange: r.ipRange,
        gateway: r.gateway,
        labels: { [BENCH_LABEL]: "floor", [LABEL.lab]: spec.name },
      });
    }),
  );
  const engineOf = (host: string | undefined): Engine => engines.get(host ?? hosts[0]!)!;
  const paced = new Map(hosts.map((h) => [h, limiter(OVERLAY_STARTS_PER_HOST)]));
  await Promise.all(
    spec.nodes.map(async (n) => {
      const c = nodeContainer(spec, n, 30, overlays);
      const e = engineOf(n.host);
      const id = await e.runtime.createContainer({
        ...c,
        labels: { [BENCH_LABEL]: "floor", [LABEL.lab]: spec.name },
      });
      await paced.get(n.host ?? hosts[0]!)!(() => e.runtime.startContainer(id));
    }),
  );
  const upMs = performance.now() - t0;
  // fwlab's own `down` removes it (an overlay is released by the swarm a moment after its
  // containers go: removeLab waits for that).
  await removeLab(manager, spec.name, engines);
  return upMs;
}

/** Removes what an interrupted measurement left on the hosts. */
export async function removeOverlayFloorLeftovers(hosts: readonly string[]): Promise<void> {
  const { engines } = await connectHosts(hosts);
  const manager = await checkSwarm(engines);
  const labs = new Set<string>();
  for (const e of engines.values())
    for (const c of await e.runtime.listContainers({ [BENCH_LABEL]: "floor" }))
      labs.add(c.labels[LABEL.lab]!);
  for (const n of await manager.runtime.networks.list({ [BENCH_LABEL]: "floor" }))
    labs.add(n.labels[LABEL.lab]!);
  for (const lab of labs) await removeLab(manager, lab, engines);
}

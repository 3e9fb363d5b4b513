import { FwlabError } from "../errors.ts";
import type { Engine } from "../runtime/engine.ts";

/** What a swarm needs between its hosts (Docker's documentation, and FACTS "A swarm on one machine"). */
export const SWARM_PORTS = [
  { port: 7946, proto: "tcp", what: "membership (gossip)" },
  { port: 7946, proto: "udp", what: "membership (gossip)" },
  { port: 4789, proto: "udp", what: "overlay traffic (VXLAN)" },
] as const;
export const MANAGER_PORT = 2377;

export interface PortProblem {
  readonly from: string;
  readonly to: string;
  readonly port: string;
  readonly what: string;
}

/**
 * Checks, before a swarm is formed, that every host reaches every other one on the ports a swarm
 * needs: each host's helper listens on them (they are free while the engine is in no swarm) and
 * every other host's helper sends a datagram or opens a connection to its advertised address.
 * A firewall between the hosts (or the DOCKER-USER chain of the machine they share) shows here,
 * not as a join that times out. The manager port is checked once the manager listens
 * (checkManagerPort).
 */
export async function checkSwarmPorts(
  hosts: readonly { name: string; engine: Engine; addr: string }[],
): Promise<PortProblem[]> {
  if (hosts.length < 2) return [];
  const token = `fwlab-port-check-${process.pid}-${Date.now()}`;
  // Each host's helper answers first (a first use starts it): the listeners must be up in time.
  await Promise.all(hosts.map((h) => h.engine.host.run(["true"])));
  const listeners = hosts.flatMap((h) =>
    SWARM_PORTS.map((p) => ({
      h,
      p,
      heard: h.engine.host.run([
        "timeout",
        "6",
        "socat",
        "-u",
        p.proto === "tcp" ? `TCP-LISTEN:${p.port},reuseaddr,fork` : `UDP-RECV:${p.port},reuseaddr`,
        "-",
      ]),
    })),
  );
  // The listeners need a moment to bind; then every host sends to every other, a few times for UDP.
  await new Promise((r) => setTimeout(r, 1000));
  await Promise.all(
    hosts.flatMap((from, i) =>
      hosts
        .filter((to) => to !== from)
        .flatMap((to) =>
          SWARM_PORTS.map((p) =>
            from.engine.host.run(
              [
                "sh",
                "-c",
                p.proto === "tcp"
                  ? `for n in 1 2 3; do echo "${token} ${i}" | timeout 2 socat -u - TCP:${to.addr}:${p.port},connect-timeout=1 && break; sleep 0.3; done`
                  : `for n in 1 2 3; do echo "${token} ${i}" | socat -u - UDP-SENDTO:${to.addr}:${p.port}; sleep 0.2; done`,
              ],
              {},
            ),
          ),
        ),
    ),
  );
  const problems: PortProblem[] = [];
  for (const l of listeners) {
    const r = await l.heard;
    if (/Address already in use/i.test(r.stderr))
      throw new FwlabError(
        `port ${l.p.port}/${l.p.proto} is already taken on host ${l.h.name} (another swarm, or a service of the host); a swarm needs it free`,
      );
    for (const [i, from] of hosts.entries()) {
      if (from === l.h) continue;
      if (!r.stdout.includes(`${token} ${i}\n`))
        problems.push({ from: from.name, to: l.h.name, port: `${l.p.port}/${l.p.proto}`, what: l.p.what });
    }
  }
  return problems;
}

/** Whether a joining host reaches the manager's port (2377/tcp) once the manager listens. */
export async function checkManagerPort(
  from: { name: string; engine: Engine },
  manager: string,
): Promise<boolean> {
  const r = await from.engine.host.run([
    "sh",
    "-c",
    `timeout 3 socat -u /dev/null TCP:${manager}:${MANAGER_PORT},connect-timeout=2`,
  ]);
  return r.exitCode === 0;
}

export const describeProblems = (problems: readonly PortProblem[]): string =>
  problems.map((p) => `${p.from} → ${p.to} ${p.port} (${p.what})`).join(", ");

import type { StartedLab } from "../lab/started-lab.ts";
import type { EventBus } from "./event-bus.ts";
import { eachLine } from "./line-reader.ts";
import { parseLogLine } from "./parse-log-line.ts";
import { type Listener, supervise } from "./supervise.ts";

export interface NflogWatch {
  readonly groups: readonly number[];
  stop(): Promise<void>;
}

/** The NFLOG groups a node's active ruleset uses (iptables `--nflog-group N`, nft `log group N`). */
export async function nflogGroups(lab: StartedLab, node: string): Promise<number[]> {
  const text = (await lab.exec(node, ["fwlab-ruleset", "save"])).stdout;
  const groups = new Set<number>();
  for (const m of text.matchAll(/--nflog-group (\d+)|log group (\d+)/g)) groups.add(Number(m[1] ?? m[2]));
  if (/-j NFLOG(?![^\n]*--nflog-group)/.test(text)) groups.add(0);
  return [...groups].sort((a, b) => a - b);
}

const PLUGINS = "/usr/lib/x86_64-linux-gnu/ulogd";

/**
 * ulogd2 for one group, printing each message in the LOG target's own format. The kernel
 * batches NFLOG messages (up to 100, or 1 s) unless the listener asks for a threshold of 1:
 * tcpdump's nflog capture cannot, ulogd's netlink_qthreshold can.
 */
function ulogdConfig(group: number): string {
  const plugins = [
    "inppkt_NFLOG",
    "raw2packet_BASE",
    "filter_IFINDEX",
    "filter_IP2STR",
    "filter_PRINTPKT",
    "output_LOGEMU",
  ];
  return [
    "[global]",
    'logfile="stderr"',
    "loglevel=3",
    ...plugins.map((p) => `plugin="${PLUGINS}/ulogd_${p}.so"`),
    "stack=log1:NFLOG,base1:BASE,ifi1:IFINDEX,ip2str1:IP2STR,print1:PRINTPKT,emu1:LOGEMU",
    "[log1]",
    `group=${group}`,
    "netlink_qthreshold=1",
    "netlink_socket_buffer_size=1048576",
    "netlink_socket_buffer_maxsize=8388608",
    "[emu1]",
    'file="/dev/stdout"',
    "sync=1",
    "",
  ].join("\n");
}

/**
 * Streams a node's NFLOG messages to the bus, one ulogd2 per group. Resolves once every group
 * is bound in the node's kernel (/proc/net/netfilter/nfnetlink_log), so nothing logged after
 * that is missed. A listener that dies is reported as a loss.
 */
export async function watchNflog(
  lab: StartedLab,
  node: string,
  bus: EventBus,
  groups?: readonly number[],
): Promise<NflogWatch> {
  const wanted = groups ?? (await nflogGroups(lab, node));
  const use = wanted.length ? wanted : [0];
  // A listener that dies (killed, or its node restarted) is restarted, and the gap reported.
  const watch = await supervise(
    { lab: lab.name, node, source: "nflog", name: `the NFLOG listener (groups ${use.join(",")})` },
    bus,
    () => listen(lab, node, bus, use),
  );
  return { groups: use, stop: () => watch.stop() };
}

async function listen(
  lab: StartedLab,
  node: string,
  bus: EventBus,
  use: readonly number[],
): Promise<Listener> {
  // One listener per group and namespace: a listener left by a killed fwlab would keep the
  // group (exec'd processes outlive their client). The portid column is the holder's PID.
  const stale = (await boundGroups(lab, node)).filter((b) => use.includes(b.group));
  if (stale.length) await lab.exec(node, ["kill", ...stale.map((b) => String(b.pid))]);
  const streams = await Promise.all(
    use.map(async (group) => {
      const conf = `/run/fwlab/ulogd-${group}.conf`;
      await lab.exec(node, ["sh", "-c", `mkdir -p /run/fwlab && cat > ${conf}`], {
        stdin: ulogdConfig(group),
      });
      const stream = await lab.execStream(node, ["ulogd", "-c", conf]);
      eachLine(stream.stdout, (text) => {
        // LOGEMU starts each line with a syslog-style date and the host name.
        const line = parseLogLine(text.replace(/^\w{3} +\d+ \d\d:\d\d:\d\d \S+ /, ""));
        if (!line) return;
        bus.publish({
          kind: "packet-log",
          source: "NFLOG",
          lab: lab.name,
          node,
          group,
          prefix: line.prefix,
          fields: line.fields,
          time: Date.now(),
        });
      });
      return { group, stream };
    }),
  );
  // Bound: the group shows in the node's nfnetlink_log instances.
  for (let i = 0; ; i++) {
    const bound = (await boundGroups(lab, node)).map((b) => b.group);
    if (use.every((g) => bound.includes(g))) break;
    if (i >= 100) {
      await Promise.all(streams.map((s) => s.stream.stop()));
      throw new Error(`[${node}] the NFLOG listener for groups ${use.join(",")} did not bind within 5s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = () => Promise.all(streams.map((s) => s.stream.stop())).then(() => {});
  // One group's listener gone is the whole watch gone: the others are stopped and all restarted.
  const ended = Promise.race(streams.map((s) => s.stream.ended)).then(stop);
  return { ended, stop };
}

/** The NFLOG groups bound in a node's namespace, and the PID (netlink port id) holding each. */
async function boundGroups(lab: StartedLab, node: string): Promise<{ group: number; pid: number }[]> {
  const text = (await lab.exec(node, ["cat", "/proc/net/netfilter/nfnetlink_log"])).stdout;
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 1)
    .map((f) => ({ group: Number(f[0]), pid: Number(f[1]) }));
}

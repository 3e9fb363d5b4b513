import { groupsIn } from "../firewall/nflog-groups.ts";
import type { StartedLab } from "../lab/started-lab.ts";
import { eachLine } from "../util/each-line.ts";
import { OWNER, ownerAlive } from "../util/owner.ts";
import type { EventBus } from "./event-bus.ts";
import type { LossEvent, PacketLogEvent } from "./events.ts";
import { MARKER, MarkerWaits } from "./markers.ts";
import { parseLogLine } from "./parse-log-line.ts";
import { type Listener, supervise } from "./supervise.ts";

export interface NflogWatch {
  readonly groups: readonly number[];
  /** Resolves once the log marker of `token` from `sport` came through every group watched. */
  marker(token: string, sport: number, signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Where a lab run's NFLOG lines come from: this process's own listeners (watchNflog), or, in
 * the dashboard's run worker, the dashboard's (server/remote-nflog.ts).
 */
export type NflogSource = (
  lab: StartedLab,
  node: string,
  bus: EventBus,
  groups: readonly number[],
) => Promise<NflogWatch>;

/** The NFLOG groups a node's active ruleset uses (iptables `--nflog-group N`, nft `log group N`). */
export async function nflogGroups(lab: StartedLab, node: string): Promise<number[]> {
  const text = (await lab.exec(node, ["fwlab-ruleset", "save"])).stdout;
  return groupsIn(text);
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
 * A copy of a listener's lines and markers, as they come and in their order (the bus delivers
 * later): the dashboard's, for a run worker whose marker must not pass the lines before it.
 */
export interface NflogTap {
  /** A line, or a loss (the listener died and was restarted: what it missed). */
  event(e: PacketLogEvent | LossEvent): void;
  marker(m: {
    readonly lab: string;
    readonly node: string;
    readonly group: number;
    readonly key: string;
  }): void;
}

/** One join fewer for `key`; false if it had none. */
function release<K>(counts: Map<K, number>, key: K): boolean {
  const n = counts.get(key);
  if (n === undefined) return false;
  if (n > 1) counts.set(key, n - 1);
  else counts.delete(key);
  return true;
}
const untap = (l: GroupListener, tap: NflogTap) => release(l.taps, tap);

/** The lines of one group in one node, however many watches in this process want them. */
interface GroupListener {
  /** The buses its lines go to, each with how many watches joined through it. */
  readonly buses: Map<EventBus, number>;
  readonly markers: MarkerWaits;
  /** Copies of its lines and markers, each with how many watches asked for it. */
  readonly taps: Map<NflogTap, number>;
  readonly started: Promise<{ stop(): Promise<void> }>;
}

// A group can be bound by one listener per namespace only: the dashboard and a scenario run it
// starts (same process) share it instead of taking it from each other.
const listeners = new Map<string, GroupListener>();

/**
 * Streams a node's NFLOG messages to the bus, one ulogd2 per group. Resolves once every group
 * is bound in the node's kernel (/proc/net/netfilter/nfnetlink_log), so nothing logged after
 * that is missed. A listener that dies is restarted and the gap reported as a loss; listeners
 * this process stops on purpose (no watch needs their group any more) are no loss.
 */
export async function watchNflog(
  lab: StartedLab,
  node: string,
  bus: EventBus,
  groups?: readonly number[],
  opts: { tap?: NflogTap } = {},
): Promise<NflogWatch> {
  const wanted = groups ?? (await nflogGroups(lab, node));
  const use = wanted.length ? wanted : [0];
  const mine = await Promise.all(use.map((group) => join(lab, node, group, bus, opts.tap)));
  return {
    groups: use,
    marker: async (token, sport, signal) => {
      await Promise.all(mine.map((l) => l.markers.wait(`${token}:${sport}`, signal)));
    },
    stop: async () => {
      if (opts.tap) for (const l of mine) untap(l, opts.tap);
      await Promise.all(use.map((group) => leave(lab.name, node, group, bus)));
    },
  };
}

async function join(
  lab: StartedLab,
  node: string,
  group: number,
  bus: EventBus,
  tap?: NflogTap,
): Promise<GroupListener> {
  const key = `${lab.name}/${node}/${group}`;
  let l = listeners.get(key);
  if (!l) {
    const buses = new Map<EventBus, number>();
    const markers = new MarkerWaits();
    const taps = new Map<NflogTap, number>();
    const started = supervise(
      { lab: lab.name, node, source: "nflog", name: `the NFLOG listener (group ${group})` },
      {
        publish: (e) => {
          for (const b of buses.keys()) b.publish(e);
          if (e.kind === "loss") for (const tap of taps.keys()) tap.event(e);
        },
      },
      () => listen(lab, node, group, buses, markers, taps),
    );
    l = { buses, markers, taps, started };
    listeners.set(key, l);
    started.catch(() => listeners.delete(key));
  }
  l.buses.set(bus, (l.buses.get(bus) ?? 0) + 1);
  if (tap) l.taps.set(tap, (l.taps.get(tap) ?? 0) + 1);
  try {
    await l.started;
  } catch (err) {
    release(l.buses, bus);
    if (tap) untap(l, tap);
    throw err;
  }
  return l;
}

async function leave(lab: string, node: string, group: number, bus: EventBus): Promise<void> {
  const key = `${lab}/${node}/${group}`;
  const l = listeners.get(key);
  if (!l || !release(l.buses, bus) || l.buses.size > 0) return;
  listeners.delete(key);
  await (await l.started).stop();
}

async function listen(
  lab: StartedLab,
  node: string,
  group: number,
  buses: ReadonlyMap<EventBus, number>,
  markers: MarkerWaits,
  taps: ReadonlyMap<NflogTap, number>,
): Promise<Listener> {
  // A group binds to one listener per namespace. Each listener's config names the fwlab process
  // that started it: one of a fwlab that died (its stream's watchdog did not get to it: an engine
  // restart, say) is taken over; one of another live fwlab is not ours to take.
  const holder = (await boundGroups(lab, node)).find((b) => b.group === group);
  if (holder) {
    const cmd = (await lab.exec(node, ["cat", `/proc/${holder.pid}/cmdline`])).stdout.split("\0");
    const signed = /ulogd-\d+-(.+)\.conf$/.exec(cmd.find((w) => w.endsWith(".conf")) ?? "")?.[1];
    const owner = signed && decodeURIComponent(signed);
    if (owner && ownerAlive(owner))
      throw new Error(
        `[${node}] NFLOG group ${group} is held by another fwlab (${owner}): its lines go there until it ends`,
      );
    await lab.exec(node, ["kill", String(holder.pid)]);
    for (let i = 0; i < 40 && (await boundGroups(lab, node)).some((b) => b.group === group); i++)
      await new Promise((r) => setTimeout(r, 50));
  }
  const conf = `/run/fwlab/ulogd-${group}-${encodeURIComponent(OWNER)}.conf`;
  await lab.exec(node, ["sh", "-c", `mkdir -p /run/fwlab && cat > ${conf}`], { stdin: ulogdConfig(group) });
  const stream = await lab.execStream(node, ["ulogd", "-c", conf]);
  eachLine(stream.stdout, (text) => {
    // LOGEMU starts each line with a syslog-style date and the host name.
    const line = parseLogLine(text.replace(/^\w{3} +\d+ \d\d:\d\d:\d\d \S+ /, ""));
    if (!line) return;
    if (line.prefix.startsWith(`${MARKER} `)) {
      const key = `${line.prefix.slice(MARKER.length + 1)}:${line.fields.spt}`;
      for (const tap of taps.keys()) tap.marker({ lab: lab.name, node, group, key });
      return markers.arrived(key);
    }
    const e: PacketLogEvent = {
      kind: "packet-log",
      source: "NFLOG",
      lab: lab.name,
      node,
      group,
      prefix: line.prefix,
      fields: line.fields,
      time: Date.now(),
    };
    for (const b of buses.keys()) b.publish(e);
    for (const tap of taps.keys()) tap.event(e);
  });
  // Bound: the group shows in the node's nfnetlink_log instances.
  for (let i = 0; ; i++) {
    if ((await boundGroups(lab, node)).some((b) => b.group === group)) break;
    if (i >= 100) {
      await stream.stop();
      throw new Error(`[${node}] the NFLOG listener for group ${group} did not bind within 5s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { ended: stream.ended, stop: () => stream.stop() };
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

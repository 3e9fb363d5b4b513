import { writeFile } from "node:fs/promises";
import Table from "cli-table3";
import type { Command } from "commander";
import { FwlabError } from "../../errors.ts";
import { capturePackets } from "../../evidence/capture-packets.ts";
import { CONNTRACK_SORTS } from "../../evidence/conntrack-sorts.ts";
import { conntrackTable, watchConntrack } from "../../evidence/conntrack-source.ts";
import { counterDeltas, readCounters } from "../../evidence/counters.ts";
import { EventBus } from "../../evidence/event-bus.ts";
import type { ConntrackTableEvent, EvidenceEvent } from "../../evidence/events.ts";
import { formatEvent, formatTuple } from "../../evidence/format-event.ts";
import { watchKernelLog } from "../../evidence/kernel-log-source.ts";
import { watchNflog } from "../../evidence/nflog-source.ts";
import { explainWalk, type PacketWalk, WalkCollector } from "../../evidence/packet-walk.ts";
import { tracePackets } from "../../evidence/trace-packets.ts";
import { currentLab, interruptSignal } from "../context.ts";

const until = (signal: AbortSignal, seconds?: number) =>
  new Promise<void>((resolve) => {
    signal.addEventListener("abort", () => resolve(), { once: true });
    if (seconds) setTimeout(resolve, seconds * 1000);
  });

export function evidenceCommands(program: Command): void {
  program
    .command("logs")
    .description("LOG and NFLOG lines of a lab's nodes, parsed and attributed (-f to follow)")
    .option("-n, --name <name>", "lab name")
    .option("-f, --follow", "keep following new lines (Ctrl-C ends)")
    .option("--node <node>", "only this node")
    .option("--prefix <prefix>", "only lines whose prefix contains this")
    .option("--seconds <s>", "with -f: stop after this many seconds")
    .option("--json", "one JSON event per line")
    .action(
      async (opts: {
        name?: string;
        follow?: boolean;
        node?: string;
        prefix?: string;
        seconds?: string;
        json?: boolean;
      }) => {
        const lab = await currentLab(opts.name);
        if (opts.node) lab.node(opts.node);
        const bus = new EventBus();
        const keep = (e: EvidenceEvent) =>
          e.kind === "loss" ||
          e.kind === "notice" ||
          (e.kind === "packet-log" &&
            e.lab === lab.name &&
            (!opts.node || e.node === opts.node) &&
            (!opts.prefix || e.prefix.includes(opts.prefix)));
        bus.subscribe((e) => console.log(opts.json ? JSON.stringify(e) : formatEvent(e)), keep);
        const signal = interruptSignal();
        const kernel = await watchKernelLog(lab.engine, bus, { history: !opts.follow });
        await kernel.follow(lab.engines.values()); // a lab across hosts: every host's kernel
        const nodes = lab.nodes
          .filter((n) => n.firewall && (!opts.node || n.name === opts.node))
          .map((n) => n.name);
        const nflog = opts.follow ? await Promise.all(nodes.map((n) => watchNflog(lab, n, bus))) : [];
        if (opts.follow) {
          process.stderr.write(
            `following LOG and NFLOG (groups ${nflog.map((w) => w.groups.join(",")).join(" ")}) of ${nodes.join(", ")}; Ctrl-C ends\n`,
          );
          await until(signal, opts.seconds ? Number(opts.seconds) : undefined);
        } else {
          await new Promise((r) => setTimeout(r, 300)); // the kernel ring's history is read at once
        }
        await Promise.all([kernel.stop(), ...nflog.map((w) => w.stop())]);
      },
    );

  program
    .command("conntrack")
    .description("a node's conntrack table, iptstate-like, with its entry count and memory estimate")
    .argument("[node]", "a firewall node (default: the lab's first)")
    .option("-n, --name <name>", "lab name")
    .option("--watch", "redraw as connections change (Ctrl-C ends)")
    .option("--sort <column>", "src, dst, proto, state or ttl", "src")
    .option("--json", "the table as JSON")
    .action(
      async (
        nodeArg: string | undefined,
        opts: { name?: string; watch?: boolean; sort: string; json?: boolean },
      ) => {
        const lab = await currentLab(opts.name);
        const node = nodeArg ?? lab.nodes.find((n) => n.firewall)?.name;
        if (!node) throw new FwlabError(`lab ${lab.name} has no firewall node; name one`, 2);
        if (!["src", "dst", "proto", "state", "ttl"].includes(opts.sort))
          throw new FwlabError(`--sort: src, dst, proto, state or ttl, not "${opts.sort}"`, 2);
        if (!opts.watch) {
          const t = await conntrackTable(lab, node);
          console.log(opts.json ? JSON.stringify(t, null, 2) : conntrackView(t, opts.sort));
          return;
        }
        const bus = new EventBus();
        const signal = interruptSignal();
        let dirty = true;
        bus.subscribe(() => {
          dirty = true;
        });
        const watch = await watchConntrack(lab, node, bus);
        const timer = setInterval(async () => {
          if (!dirty) return;
          dirty = false;
          const t = await conntrackTable(lab, node);
          process.stdout.write(`\x1b[2J\x1b[H${conntrackView(t, opts.sort)}\n(Ctrl-C ends)\n`);
        }, 500);
        await until(signal);
        clearInterval(timer);
        await watch.stop();
      },
    );

  program
    .command("counters")
    .description("packets and bytes of every rule and policy of a node (--watch: change per second)")
    .argument("<node>")
    .option("-n, --name <name>", "lab name")
    .option("--watch", "show what changed each second (Ctrl-C ends)")
    .option("--json", "machine-readable output")
    .action(async (node: string, opts: { name?: string; watch?: boolean; json?: boolean }) => {
      const lab = await currentLab(opts.name);
      let before = await readCounters(lab, node);
      const show = (deltas: ReturnType<typeof counterDeltas>, title: string) => {
        if (opts.json) return console.log(JSON.stringify(deltas));
        const t = new Table({
          head: ["table", "chain", "#", "packets", "bytes", "rule"],
          style: { head: [], border: [] },
        });
        for (const d of deltas)
          t.push([
            d.table,
            d.chain,
            d.rule ?? "policy",
            d.uncounted ? "-" : d.packets,
            d.uncounted ? "-" : d.bytes,
            d.comment ?? d.spec,
          ]);
        const note = deltas.some((d) => d.uncounted)
          ? "\n- nft counts only rules with a `counter` statement"
          : "";
        console.log(`${title}\n${t.toString()}${note}`);
      };
      if (!opts.watch)
        return show(counterDeltas([], before), `${node}: counters since the ruleset was loaded or zeroed`);
      const signal = interruptSignal();
      while (!signal.aborted) {
        await until(signal, 1);
        const after = await readCounters(lab, node);
        const changed = counterDeltas(before, after).filter((d) => d.packets !== 0);
        process.stdout.write("\x1b[2J\x1b[H");
        show(changed, `${node}: packets in the last second (${new Date().toISOString().slice(11, 19)})`);
        before = after;
      }
    });

  program
    .command("trace")
    .description("every rule that packets matching --match pass on a node, with the final verdict")
    .argument("<node>")
    .requiredOption("--match <match>", 'iptables match options, e.g. "-p tcp --dport 22 -s 10.0.1.10"')
    .option("-n, --name <name>", "lab name")
    .option("--seconds <s>", "stop after this many seconds (default: Ctrl-C)")
    .option("--json", "one JSON event per line")
    .option(
      "--explain",
      "each packet's walk through the hooks, rule by rule, with its conntrack state and NAT",
    )
    .action(
      async (
        node: string,
        opts: { name?: string; match: string; seconds?: string; json?: boolean; explain?: boolean },
      ) => {
        const lab = await currentLab(opts.name);
        const bus = new EventBus();
        // --explain: a packet's events are printed together, once its walk is complete.
        const walks = new WalkCollector();
        const print = (w: PacketWalk) => console.log(opts.json ? JSON.stringify(w) : `${explainWalk(w)}\n`);
        bus.subscribe(
          (e) => {
            if (!opts.explain) console.log(opts.json ? JSON.stringify(e) : formatEvent(e));
            else if (e.kind === "trace") {
              walks.add(e, Date.now()).forEach(print);
            }
          },
          (e) => e.kind === "trace",
        );
        const idle = opts.explain
          ? setInterval(() => walks.flush(Date.now()).forEach(print), 200)
          : undefined;
        const signal = interruptSignal();
        const trace = await tracePackets(lab, node, opts.match, bus);
        process.stderr.write(
          `tracing "${opts.match}" on ${node}; ${opts.seconds ? `for ${opts.seconds}s` : "Ctrl-C ends"}\n`,
        );
        await until(signal, opts.seconds ? Number(opts.seconds) : undefined);
        await trace.stop();
        clearInterval(idle);
        walks.flush(Date.now(), true).forEach(print);
      },
    );

  program
    .command("capture")
    .description("capture a node interface into a pcap file (Wireshark reads it)")
    .argument("<node>")
    .argument("<iface>", "interface inside the node (lan, dmz, wan, any, ...)")
    .requiredOption("-o, --output <file>", "pcap file to write")
    .option("-n, --name <name>", "lab name")
    .option("--seconds <s>", "capture for this many seconds (default: until Ctrl-C)")
    .action(
      async (node: string, iface: string, opts: { name?: string; output: string; seconds?: string }) => {
        const lab = await currentLab(opts.name);
        await writeFile(opts.output, "");
        const signal = interruptSignal();
        const cap = await capturePackets(lab, node, iface, opts.output);
        process.stderr.write(
          `capturing ${node}:${iface} into ${opts.output}; ${opts.seconds ? `for ${opts.seconds}s` : "Ctrl-C ends"}\n`,
        );
        await until(signal, opts.seconds ? Number(opts.seconds) : undefined);
        const r = await cap.stop();
        process.stderr.write(`${r.packets} packets written to ${r.file}\n`);
      },
    );
}

/** An iptstate-like view: count and memory estimate in the header, NAT beside the original. */
export function conntrackView(t: ConntrackTableEvent, sort: string): string {
  const table = new Table({
    head: ["source", "destination", "proto", "state", "ttl", "reply (NAT)"],
    style: { head: [], border: [] },
  });
  const port = (p?: number) => (p === undefined ? "" : `:${p}`);
  for (const e of [...t.entries].sort(CONNTRACK_SORTS[sort])) {
    table.push([
      `${e.original.src}${port(e.original.sport)}`,
      `${e.original.dst}${port(e.original.dport)}`,
      e.proto,
      `${e.state ?? ""}${e.assured ? " A" : ""}${e.unreplied ? " U" : ""}`,
      e.timeout ?? "",
      e.nat.snat || e.nat.dnat
        ? `${formatTuple(e.reply)}${e.nat.snat ? " SNAT" : ""}${e.nat.dnat ? " DNAT" : ""}`
        : "",
    ]);
  }
  const kib = (t.memoryBytes / 1024).toFixed(1);
  return `${t.lab}/${t.node}: ${t.count} entries, ~${kib} KiB (${t.count} x ${t.entryBytes} B per entry on this kernel)\n${table.toString()}`;
}

import type { EventBus } from "../evidence/event-bus.ts";
import type { LossEvent, PacketLogEvent } from "../evidence/events.ts";
import { type NflogTap, type NflogWatch, watchNflog } from "../evidence/nflog-source.ts";
import type { StartedLab } from "../lab/started-lab.ts";
import type { WorkerMessage, WorkerRequest } from "./run-worker-protocol.ts";

type Join = Extract<WorkerMessage, { kind: "nflog-join" | "nflog-leave" }>;

/**
 * The dashboard's side of a run worker's NFLOG (remote-nflog.ts): joins the groups the run
 * asks for with the dashboard's own listeners (their lines reach the pages through the
 * dashboard's bus, as any lab's do) and sends the worker a copy of the joined nodes' lines,
 * a read's lines in one message, each marker after the lines before it.
 */
export class NflogForWorker {
  private readonly joined = new Map<number, { watch: NflogWatch; node: string }>();
  private readonly nodes = new Map<string, number>();
  private pending: (PacketLogEvent | LossEvent)[] = [];
  private closed = false;
  private readonly tap: NflogTap = {
    event: (e) => {
      if (!this.nodes.has(`${e.lab}/${e.node}`)) return;
      if (this.pending.push(e) === 1) queueMicrotask(() => this.flush());
    },
    marker: (m) => {
      if (!this.nodes.has(`${m.lab}/${m.node}`)) return;
      this.flush();
      this.send({ kind: "nflog-marker", ...m });
    },
  };

  constructor(
    private readonly bus: EventBus,
    private readonly attach: (lab: string) => Promise<StartedLab>,
    private readonly send: (m: WorkerRequest) => void,
    private readonly watch: typeof watchNflog = watchNflog,
  ) {}

  /** A join or leave from the worker, answered once done (a join: bound), or with why not. */
  async handle(m: Join): Promise<void> {
    if (m.kind === "nflog-leave") {
      const j = this.joined.get(m.of);
      this.joined.delete(m.of);
      if (j) this.count(j.node, -1);
      try {
        await j?.watch.stop();
        this.send({ kind: "nflog-done", id: m.id });
      } catch (err) {
        this.send({ kind: "nflog-done", id: m.id, error: (err as Error).message });
      }
      return;
    }
    try {
      const lab = await this.attach(m.lab);
      const watch = await this.watch(lab, m.node, this.bus, m.groups, { tap: this.tap });
      if (this.closed) {
        await watch.stop();
        return;
      }
      const node = `${m.lab}/${m.node}`;
      this.joined.set(m.id, { watch, node });
      this.count(node, 1);
      this.send({ kind: "nflog-done", id: m.id });
    } catch (err) {
      this.send({ kind: "nflog-done", id: m.id, error: (err as Error).message });
    }
  }

  /** The worker ended: its joins are let go of (the dashboard's own watches stay). */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    const all = [...this.joined.values()];
    this.joined.clear();
    this.nodes.clear();
    await Promise.all(all.map((j) => j.watch.stop()));
  }

  private count(node: string, by: number): void {
    const n = (this.nodes.get(node) ?? 0) + by;
    if (n > 0) this.nodes.set(node, n);
    else this.nodes.delete(node);
  }

  private flush(): void {
    if (this.pending.length === 0 || this.closed) {
      this.pending = [];
      return;
    }
    const events = this.pending;
    this.pending = [];
    this.send({ kind: "nflog-lines", events });
  }
}

import type { EventBus } from "../evidence/event-bus.ts";
import { MarkerWaits } from "../evidence/markers.ts";
import type { NflogSource } from "../evidence/nflog-source.ts";
import type { WorkerMessage, WorkerRequest } from "./run-worker-protocol.ts";

type FromDashboard = Extract<WorkerRequest, { kind: "nflog-done" | "nflog-lines" | "nflog-marker" }>;

/** Where a node's lines and markers go in the worker, and how many joins want them. */
interface Route {
  readonly bus: EventBus;
  readonly waits: MarkerWaits;
  joins: number;
}

/**
 * A run worker's NFLOG lines, from the dashboard's listeners: a group binds to one listener per
 * namespace, and the dashboard keeps it, so its pages get the lines straight from the kernel's
 * listener (not through a worker busy with probes and traces) and the run gets a copy. A watch
 * joins through the dashboard (nflog-join), its lines come back in order with its markers.
 */
export class RemoteNflog {
  private nextId = 1;
  private readonly replies = new Map<number, { resolve(): void; reject(err: Error): void }>();
  private readonly routes = new Map<string, Route>();

  constructor(private readonly send: (m: WorkerMessage) => void) {}

  readonly source: NflogSource = async (lab, node, bus, groups) => {
    const use = groups.length ? [...groups] : [0];
    const key = `${lab.name}/${node}`;
    const route = this.routes.get(key) ?? { bus, waits: new MarkerWaits(), joins: 0 };
    route.joins++;
    this.routes.set(key, route);
    const id = this.nextId++;
    const drop = () => {
      if (--route.joins === 0) this.routes.delete(key);
    };
    try {
      await this.ask(id, { kind: "nflog-join", id, lab: lab.name, node, groups: use });
    } catch (err) {
      drop();
      throw err;
    }
    return {
      groups: use,
      marker: async (token, sport, signal) => {
        await Promise.all(use.map((g) => route.waits.wait(`${g}/${token}:${sport}`, signal)));
      },
      stop: async () => {
        const leave = this.nextId++;
        try {
          await this.ask(leave, { kind: "nflog-leave", id: leave, of: id });
        } finally {
          drop();
        }
      },
    };
  };

  private ask(id: number, m: WorkerMessage): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.replies.set(id, { resolve, reject });
      this.send(m);
    });
  }

  /** A message from the dashboard: true if it was this one's. */
  deliver(m: WorkerRequest): m is FromDashboard {
    if (m.kind === "nflog-done") {
      const reply = this.replies.get(m.id);
      this.replies.delete(m.id);
      if (m.error === undefined) reply?.resolve();
      else reply?.reject(new Error(m.error));
      return true;
    }
    if (m.kind === "nflog-lines") {
      for (const e of m.events) this.routes.get(`${e.lab}/${e.node}`)?.bus.publish(e);
      return true;
    }
    if (m.kind === "nflog-marker") {
      this.routes.get(`${m.lab}/${m.node}`)?.waits.arrived(`${m.group}/${m.key}`);
      return true;
    }
    return false;
  }

  /** The dashboard went away: joins still waiting fail, saying so. */
  close(): void {
    for (const r of this.replies.values()) r.reject(new Error("the dashboard's channel closed"));
    this.replies.clear();
  }
}

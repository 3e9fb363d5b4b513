import type { WebSocket } from "ws";
import { EventBus } from "../evidence/event-bus.ts";
import { type PacketWalk, WalkCollector } from "../evidence/packet-walk.ts";
import { type PacketTrace, tracePackets } from "../evidence/trace-packets.ts";
import { StartedLab } from "../lab/started-lab.ts";
import type { Engine } from "../runtime/engine.ts";
import type { ClientMessage, ServerMessage } from "./protocol.ts";

const MAX_PER_SOCKET = 2;
/** A trace nobody stops ends by itself: its rules must not stay in a node for good. */
const MAX_MS = 10 * 60_000;

type TraceMessage = Extract<ClientMessage, { kind: "trace-start" | "trace-stop" }>;

interface Live {
  trace?: PacketTrace;
  walks: WalkCollector;
  timer: NodeJS.Timeout;
  ended: boolean;
}

/**
 * Packet traces started from the page (`trace-start` with a match such as `-p tcp --dport 22`):
 * each traced packet's walk through the node's hooks goes to the page that asked, as one
 * `walk` message once the walk is complete. Each trace belongs to its socket and ends with it.
 */
export class LiveTraces {
  private readonly sockets = new Map<WebSocket, Map<string, Live>>();

  constructor(private readonly engine: Engine) {}

  async handle(ws: WebSocket, msg: TraceMessage): Promise<void> {
    const send = (m: ServerMessage) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(m));
    const mine = this.sockets.get(ws) ?? new Map<string, Live>();
    this.sockets.set(ws, mine);
    if (msg.kind === "trace-stop") {
      const live = mine.get(msg.id);
      if (!live) return void send({ kind: "error", reason: `no trace ${msg.id}` });
      await this.end(mine, msg.id, live);
      return void send({ kind: "trace-ended", id: msg.id, reason: "stopped" });
    }
    if (mine.has(msg.id))
      return void send({ kind: "trace-ended", id: msg.id, reason: "a trace with this id runs" });
    if (mine.size >= MAX_PER_SOCKET)
      return void send({
        kind: "trace-ended",
        id: msg.id,
        reason: `at most ${MAX_PER_SOCKET} traces per page`,
      });
    const print = (walk: PacketWalk) => send({ kind: "walk", id: msg.id, walk });
    const live: Live = {
      walks: new WalkCollector(),
      ended: false,
      timer: setInterval(() => {
        for (const w of live.walks.flush(Date.now())) print(w);
      }, 200),
    };
    mine.set(msg.id, live);
    const limit = setTimeout(() => {
      if (mine.get(msg.id) !== live) return;
      void this.end(mine, msg.id, live).then(() =>
        send({ kind: "trace-ended", id: msg.id, reason: `ended after ${MAX_MS / 60_000} minutes` }),
      );
    }, MAX_MS);
    limit.unref();
    try {
      const lab = await StartedLab.attach(this.engine, msg.lab);
      const bus = new EventBus();
      bus.subscribe(
        (e) => {
          if (e.kind !== "trace") return;
          for (const w of live.walks.add(e, Date.now())) print(w);
        },
        (e) => e.kind === "trace",
      );
      const trace = await tracePackets(lab, msg.node, msg.match, bus);
      // The page went away (or stopped this id) while the trace started: no rule outlives it.
      if (live.ended) return void (await trace.stop());
      live.trace = trace;
      send({ kind: "trace-started", id: msg.id, lab: msg.lab, node: msg.node, match: msg.match });
    } catch (err) {
      await this.end(mine, msg.id, live);
      send({ kind: "trace-ended", id: msg.id, reason: (err as Error).message.split("\n")[0]! });
    }
  }

  private async end(mine: Map<string, Live>, id: string, live: Live): Promise<void> {
    if (mine.get(id) === live) mine.delete(id);
    live.ended = true;
    clearInterval(live.timer);
    await live.trace?.stop();
  }

  /** Ends every trace of a socket (it closed), or of all sockets. */
  async close(ws?: WebSocket): Promise<void> {
    const socks = ws ? [ws] : [...this.sockets.keys()];
    await Promise.all(
      socks.flatMap((s) => {
        const mine = this.sockets.get(s);
        this.sockets.delete(s);
        return [...(mine?.entries() ?? [])].map(([id, live]) => this.end(mine!, id, live));
      }),
    );
  }
}

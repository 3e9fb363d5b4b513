import { StringDecoder } from "node:string_decoder";
import type { WebSocket } from "ws";
import { StartedLab } from "../lab/started-lab.ts";
import type { DockerRuntime, TtySession } from "../runtime/docker-runtime.ts";
import type { ClientMessage, ServerMessage } from "./protocol.ts";

const MAX_PER_SOCKET = 8;

/**
 * Terminals into lab nodes over the dashboard's WebSocket (which only a client holding the
 * token can open). Each session belongs to the socket that opened it and ends with it.
 */
export class Terminals {
  private readonly sessions = new Map<WebSocket, Map<string, TtySession>>();

  constructor(private readonly runtime: DockerRuntime) {}

  async handle(ws: WebSocket, msg: ClientMessage): Promise<void> {
    const send = (m: ServerMessage) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(m));
    const mine = this.sessions.get(ws) ?? new Map<string, TtySession>();
    this.sessions.set(ws, mine);
    if (msg.kind === "term-open") {
      if (mine.has(msg.id))
        return void send({ kind: "term-exit", id: msg.id, reason: "a terminal with this id is open" });
      if (mine.size >= MAX_PER_SOCKET)
        return void send({
          kind: "term-exit",
          id: msg.id,
          reason: `at most ${MAX_PER_SOCKET} terminals per page`,
        });
      try {
        const lab = await StartedLab.attach(this.runtime, msg.lab);
        const tty = await lab.shell(msg.node, { cols: msg.cols, rows: msg.rows });
        mine.set(msg.id, tty);
        // A character may straddle two chunks: decode across them.
        const text = new StringDecoder("utf8");
        tty.output.on("data", (b: Buffer) => send({ kind: "term-output", id: msg.id, data: text.write(b) }));
        tty.ended.then(() => {
          if (mine.delete(msg.id)) send({ kind: "term-exit", id: msg.id, reason: "the shell ended" });
        });
      } catch (err) {
        send({ kind: "term-exit", id: msg.id, reason: (err as Error).message });
      }
      return;
    }
    const tty = mine.get(msg.id);
    if (!tty) return void send({ kind: "error", reason: `no terminal ${msg.id}` });
    if (msg.kind === "term-input") tty.write(msg.data);
    else if (msg.kind === "term-resize") await tty.resize(msg.cols, msg.rows);
    else {
      mine.delete(msg.id);
      await tty.stop();
      send({ kind: "term-exit", id: msg.id, reason: "closed" });
    }
  }

  /** Ends every terminal of a socket (it closed), or of all sockets. */
  async close(ws?: WebSocket): Promise<void> {
    const socks = ws ? [ws] : [...this.sessions.keys()];
    await Promise.all(
      socks.flatMap((s) => {
        const mine = this.sessions.get(s);
        this.sessions.delete(s);
        return [...(mine?.values() ?? [])].map((t) => t.stop());
      }),
    );
  }
}

import { StringDecoder } from "node:string_decoder";
import type { WebSocket } from "ws";
import { StartedLab } from "../lab/started-lab.ts";
import type { TtySession } from "../runtime/container-runtime.ts";
import type { Engine } from "../runtime/engine.ts";
import type { ClientMessage, ServerMessage } from "./protocol.ts";

const MAX_PER_SOCKET = 8;

/** A terminal being opened: its slot is taken at once, so a burst of opens cannot pass the cap. */
const OPENING = "opening" as const;

/**
 * Terminals into lab nodes over the dashboard's WebSocket (which only a client holding the
 * token can open). Each session belongs to the socket that opened it and ends with it; a socket
 * holds at most 8, counted from the moment each is asked for.
 */
export class Terminals {
  private readonly sessions = new Map<WebSocket, Map<string, TtySession | typeof OPENING>>();

  constructor(private readonly engine: Engine) {}

  async handle(ws: WebSocket, msg: ClientMessage): Promise<void> {
    const send = (m: ServerMessage) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(m));
    const mine = this.sessions.get(ws) ?? new Map<string, TtySession | typeof OPENING>();
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
      mine.set(msg.id, OPENING);
      try {
        const lab = await StartedLab.attach(this.engine, msg.lab);
        const tty = await lab.shell(msg.node, { cols: msg.cols, rows: msg.rows });
        // The page went away (or closed this id) while the shell started: no shell outlives it.
        if (this.sessions.get(ws) !== mine || mine.get(msg.id) !== OPENING) return void (await tty.stop());
        mine.set(msg.id, tty);
        // A character may straddle two chunks: decode across them.
        const text = new StringDecoder("utf8");
        tty.output.on("data", (b: Buffer) => send({ kind: "term-output", id: msg.id, data: text.write(b) }));
        tty.ended.then(() => {
          if (mine.delete(msg.id)) send({ kind: "term-exit", id: msg.id, reason: "the shell ended" });
        });
      } catch (err) {
        if (mine.get(msg.id) === OPENING) mine.delete(msg.id);
        send({ kind: "term-exit", id: msg.id, reason: (err as Error).message.split("\n")[0]! });
      }
      return;
    }
    const tty = mine.get(msg.id);
    if (!tty) return void send({ kind: "error", reason: `no terminal ${msg.id}` });
    if (tty === OPENING) {
      if (msg.kind === "term-close") mine.delete(msg.id); // the open sees it and stops the shell
      return void send({ kind: "error", reason: `terminal ${msg.id} is still opening` });
    }
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
        return [...(mine?.values() ?? [])].flatMap((t) => (t === OPENING ? [] : [t.stop()]));
      }),
    );
  }
}

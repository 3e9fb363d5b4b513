import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { hostAllowed, originAllowed, WS_PROTOCOL, wsToken } from "./auth.ts";
import { type Access, canSee } from "./lab-tokens.ts";
import type { LiveTraces } from "./live-traces.ts";
import { clientMessage, type ServerMessage } from "./protocol.ts";
import type { Terminals } from "./terminals.ts";
import { visibleTo } from "./visible-to.ts";

/** The largest message a page may send: a terminal's input is at most 64 KiB. */
const MAX_PAYLOAD = 256 * 1024;

/**
 * The dashboard's WebSocket: only `/ws`, with the token in the subprotocol, from the page's own
 * origin and host. Nothing a client sends can end the server: a refused or broken handshake, a
 * socket reset mid-way, bad JSON, unknown kinds, oversized messages each end that client at most.
 */
export function wsServer(opts: {
  server: Server;
  /** What a token opens, or undefined for no (or a wrong) token. */
  authorize(token: string | undefined): Access | undefined;
  hosts: ReadonlySet<string>;
  terminals: Terminals;
  traces: LiveTraces;
  /** The first message of a socket: the labs, as the page starts from them. */
  hello(): Promise<ServerMessage>;
  /** Something went wrong that no client caused (the engine, say): for the server's notices. */
  onError(what: string, err: unknown): void;
}): { wss: WebSocketServer; send(msg: ServerMessage): void } {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_PAYLOAD,
    handleProtocols: (offered) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  opts.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client may reset the socket at any moment of the handshake.
    socket.on("error", () => socket.destroy());
    const path = (req.url ?? "").split("?")[0];
    const access =
      path === "/ws" &&
      hostAllowed(req.headers.host, opts.hosts) &&
      originAllowed(req.headers.origin, req.headers.host)
        ? opts.authorize(wsToken(req.headers))
        : undefined;
    if (!access) {
      if (socket.writable)
        socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      else socket.destroy();
      return;
    }
    try {
      wss.handleUpgrade(req, socket, head, (ws) => {
        scopes.set(ws, access);
        wss.emit("connection", ws);
      });
    } catch (err) {
      socket.destroy();
      opts.onError("a WebSocket handshake", err);
    }
  });
  // What each socket's token opens: every message it gets goes through visibleTo.
  const scopes = new WeakMap<WebSocket, Access>();
  const reply = (ws: WebSocket, m: ServerMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
  };
  wss.on("connection", (ws: WebSocket) => {
    // A client's protocol error (a message over MAX_PAYLOAD, bad framing): ws itself closes that
    // socket with the code that says why (1009 for size) and cuts it if the close is not
    // answered; only its listener must exist, or the error would end the server.
    ws.on("error", () => {});
    ws.on("message", (data, isBinary) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(isBinary ? "" : String(data));
      } catch {
        return reply(ws, { kind: "error", reason: "not JSON" });
      }
      const msg = clientMessage.safeParse(parsed);
      if (!msg.success) {
        const issue = msg.error.issues[0]!;
        return reply(ws, { kind: "error", reason: `${issue.path.join(".") || "message"}: ${issue.message}` });
      }
      const m = msg.data;
      const access = scopes.get(ws);
      // A lab's token opens terminals and traces in that lab only.
      if ((m.kind === "term-open" || m.kind === "trace-start") && !(access && canSee(access, m.lab))) {
        const reason = `this token does not open lab ${m.lab}`;
        return reply(
          ws,
          m.kind === "term-open"
            ? { kind: "term-exit", id: m.id, reason }
            : { kind: "trace-ended", id: m.id, reason },
        );
      }
      const handled =
        m.kind === "trace-start" || m.kind === "trace-stop"
          ? opts.traces.handle(ws, m)
          : opts.terminals.handle(ws, m);
      handled.catch((err: Error) => {
        reply(ws, { kind: "error", reason: err.message.split("\n")[0]! });
      });
    });
    ws.on("close", () => {
      opts.terminals.close(ws).catch((err: unknown) => opts.onError("closing a page's terminals", err));
      opts.traces.close(ws).catch((err: unknown) => opts.onError("ending a page's packet traces", err));
    });
    opts.hello().then(
      (m) => {
        const access = scopes.get(ws);
        const mine = access && visibleTo(access, m);
        if (mine) reply(ws, mine);
      },
      (err: Error) =>
        reply(ws, { kind: "error", reason: `the labs could not be listed: ${err.message.split("\n")[0]}` }),
    );
  });
  const send = (msg: ServerMessage) => {
    // Encoded once for every page that sees all of it (not once per page: 50 pages are 50
    // copies of a burst to encode otherwise).
    let everything: Buffer | undefined;
    for (const ws of wss.clients) {
      const access = scopes.get(ws);
      const mine = access && visibleTo(access, msg);
      if (!mine) continue;
      // A page that cannot keep up loses batches, and is told so.
      if (ws.bufferedAmount > 8 * 1024 * 1024)
        reply(ws, { kind: "dropped", count: 1, reason: "the page fell behind" });
      else if (ws.readyState === ws.OPEN) {
        if (mine !== msg) ws.send(JSON.stringify(mine));
        else {
          everything ??= Buffer.from(JSON.stringify(msg));
          ws.send(everything, { binary: false });
        }
      }
    }
  };
  return { wss, send };
}

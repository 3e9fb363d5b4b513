import WebSocket from "ws";
import type { ServerMessage } from "../../src/server/protocol.ts";

/** A page's socket to a dashboard at `base` (with its token), collecting what the server sends. */
export async function wsPage(base: string, token: string): Promise<{ ws: WebSocket; got: ServerMessage[] }> {
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/ws`, ["fwlab.v1", `token.${token}`], {
    origin: base,
  });
  const got: ServerMessage[] = [];
  ws.on("message", (m) => got.push(JSON.parse(String(m)) as ServerMessage));
  await new Promise((r, j) => {
    ws.once("open", r);
    ws.once("error", j);
  });
  return { ws, got };
}

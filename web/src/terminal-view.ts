import { Terminal } from "@xterm/xterm";
import type { ClientMessage, ServerMessage } from "../../src/server/protocol.ts";
import { $ } from "./dom.ts";
import { page } from "./page-state.ts";

/**
 * The terminal: a shell in the chosen node over the page's WebSocket (which needed the token).
 * term-open, term-input, term-close out; term-output, term-exit in.
 */
export class TerminalView {
  private term?: Terminal;
  private id = "";
  private ready = false;
  private typed = "";

  constructor(private readonly send: (msg: ClientMessage) => void) {
    $("term-open").onclick = () => this.open();
    $("term-close").onclick = () => this.id && this.send({ kind: "term-close", id: this.id });
  }

  private open(): void {
    this.term?.dispose();
    $("terminal").replaceChildren();
    const term = new Terminal({ cols: 100, rows: 24, fontSize: 12, convertEol: false });
    this.term = term;
    term.open($("terminal"));
    const id = `t${Date.now().toString(36)}`;
    this.id = id;
    const node = $<HTMLSelectElement>("term-node").value;
    this.send({ kind: "term-open", id, lab: page.lab, node, cols: term.cols, rows: term.rows });
    this.ready = false;
    term.onData((data) => {
      if (this.id !== id) return;
      if (this.ready) this.send({ kind: "term-input", id, data });
      else this.typed += data;
    });
    $("term-state").textContent = `${page.lab}/${node}`;
    ($("term-open") as HTMLButtonElement).disabled = true;
    ($("term-close") as HTMLButtonElement).disabled = false;
    term.focus();
  }

  receive(msg: Extract<ServerMessage, { kind: "term-output" | "term-exit" }>): void {
    if (msg.id !== this.id) return;
    if (msg.kind === "term-exit") {
      $("term-state").textContent = `ended: ${msg.reason}`;
      ($("term-open") as HTMLButtonElement).disabled = false;
      ($("term-close") as HTMLButtonElement).disabled = true;
      this.id = "";
      return;
    }
    this.term?.write(msg.data);
    // The shell is up: what was typed while it started goes now.
    if (!this.ready && this.typed) this.send({ kind: "term-input", id: this.id, data: this.typed });
    this.ready = true;
    this.typed = "";
  }
}

// The terminal: a shell in the chosen node over the page's WebSocket (which needed the token).
// Messages: term-open, term-input, term-close out; term-output, term-exit in (src/server/protocol.ts).

/** Wires the terminal panel; `send` writes a client message, `lab` names the page's lab. */
export function mountTerminal({ $, send, lab }) {
  let term;
  let id = "";
  let ready = false;
  let typed = "";
  const end = (reason) => {
    $("term-state").textContent = `ended: ${reason}`;
    $("term-open").disabled = false;
    $("term-close").disabled = true;
    id = "";
  };
  $("term-open").onclick = () => {
    term?.dispose();
    $("terminal").replaceChildren();
    term = new window.Terminal({ cols: 100, rows: 24, fontSize: 12, convertEol: false });
    term.open($("terminal"));
    id = `t${Date.now().toString(36)}`;
    const node = $("term-node").value;
    send({ kind: "term-open", id, lab: lab(), node, cols: term.cols, rows: term.rows });
    ready = false;
    term.onData((data) => {
      if (!id) return;
      if (ready) send({ kind: "term-input", id, data });
      else typed += data;
    });
    $("term-state").textContent = `${lab()}/${node}`;
    $("term-open").disabled = true;
    $("term-close").disabled = false;
    term.focus();
  };
  $("term-close").onclick = () => id && send({ kind: "term-close", id });
  return {
    /** A term-output or term-exit message from the server. */
    receive(msg) {
      if (msg.id !== id) return;
      if (msg.kind === "term-exit") return end(msg.reason);
      term?.write(msg.data);
      // The shell is up: what was typed while it started goes now.
      if (!ready && typed) send({ kind: "term-input", id, data: typed });
      ready = true;
      typed = "";
    },
  };
}

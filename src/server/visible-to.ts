import { type Access, canSee } from "./lab-tokens.ts";
import type { ServerMessage } from "./protocol.ts";

/**
 * What of a message for every page a page may see: all of it with the teacher's token; with a
 * lab's token only what is about that lab (undefined: nothing). Every kind is decided here: a
 * new kind fails the type check until it is.
 */
export function visibleTo(access: Access, msg: ServerMessage): ServerMessage | undefined {
  if (access.all) return msg;
  switch (msg.kind) {
    case "hello":
      return { ...msg, labs: msg.labs.filter((l) => canSee(access, l.name)) };
    case "events": {
      // Events about no lab in particular (the server's own notices) are the teacher's.
      const events = msg.events.filter((e) => "lab" in e && canSee(access, e.lab));
      return events.length > 0 ? { ...msg, events } : undefined;
    }
    case "run-started":
    case "run-step":
    case "run-done":
    case "rates":
    case "trace-started":
      return canSee(access, msg.lab) ? msg : undefined;
    case "conntrack-stats":
      return canSee(access, msg.stats.lab) ? msg : undefined;
    // Sent to the one page that asked (its own terminals and traces), or about its own socket.
    case "term-output":
    case "term-exit":
    case "walk":
    case "trace-ended":
    case "dropped":
    case "error":
      return msg;
    default: {
      const unknown: never = msg;
      return unknown;
    }
  }
}

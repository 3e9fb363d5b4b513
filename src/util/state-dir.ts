import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Where fwlab keeps what outlives a command: $FWLAB_STATE_DIR, else $XDG_STATE_HOME/fwlab, else ~/.local/state/fwlab. */
export const stateDir = (env = process.env): string =>
  resolve(
    env.FWLAB_STATE_DIR ??
      join(env.XDG_STATE_HOME ?? join(env.HOME ?? homedir(), ".local", "state"), "fwlab"),
  );

import { hostname } from "node:os";

/** This fwlab process, as it signs what it leaves in nodes: "host:pid". */
export const OWNER = `${hostname()}:${process.pid}`;

/**
 * Whether the fwlab process that signed something is still running. A process of another
 * machine cannot be judged from here: it counts as alive.
 */
export function ownerAlive(owner: string): boolean {
  const [host, pid] = owner.split(":");
  if (host !== hostname() || !/^\d+$/.test(pid ?? "")) return true;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

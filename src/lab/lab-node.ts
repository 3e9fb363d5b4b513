import type { Backend } from "../topology/lab-spec.ts";
import type { Role } from "../topology/roles.ts";

/** A node of a lab as Docker knows it: found by labels, so it works without the lab file. */
export interface LabNode {
  readonly name: string;
  readonly container: string;
  readonly containerName: string;
  readonly role: Role;
  readonly firewall: boolean;
  readonly backend: Backend;
  readonly image: string;
  readonly state: string;
  /** The host (engine) it runs on: one of a multi-host lab's hosts, else its engine's name. */
  readonly host: string;
  /** network name (as in the lab file) → IPv4 address */
  readonly addresses: Readonly<Record<string, string>>;
  /** network name → IPv6 address, on the dual-stack networks it is on */
  readonly addresses6: Readonly<Record<string, string>>;
  /** network name → interface name, where the lab file names it otherwise (`interfaces: { wan: eth0 }`) */
  readonly ifnames?: Readonly<Record<string, string>>;
  /** When its container was created, and by when its services answer (seconds since the epoch). */
  readonly created: number;
  readonly readyBy: number;
}

export const containerName = (lab: string, node: string): string => `${lab}-${node}`;

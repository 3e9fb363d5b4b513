import type { Role } from "./roles.ts";

export type Backend = "iptables-nft" | "iptables-legacy" | "nft";

/** A validated lab: what `up` creates. Built from a Compose file by `readLabFile`. */
export interface LabSpec {
  readonly name: string;
  /** Absolute path of the lab file. */
  readonly file: string;
  readonly domain: string;
  readonly networks: readonly NetworkSpec[];
  readonly nodes: readonly NodeSpec[];
  /**
   * The engines the lab spans (docker context names or engine URLs), once placed (place-lab.ts);
   * absent: the lab runs on the one engine the command talks to, on fwlab's own bridges.
   */
  readonly hosts?: readonly string[];
  /** Set by placeLab: every node has its host, and placing again changes nothing. */
  readonly placed?: boolean;
}

export interface NetworkSpec {
  readonly name: string;
  readonly subnet: string;
  /** The IPv6 prefix of a dual-stack network (canonical text, e.g. 2001:db8:1::/64). */
  readonly subnet6?: string;
  /** The bridge's own address (the host side); no node routes through it. */
  readonly bridgeGateway?: string;
}

export interface InterfaceSpec {
  readonly network: string;
  readonly address: string;
  /** Its IPv6 address on a dual-stack network (canonical text). */
  readonly address6?: string;
  /** The name the interface gets inside the node (default: the network's name). */
  readonly ifname: string;
}

export interface NodeSpec {
  readonly name: string;
  readonly role: Role;
  readonly image: string;
  readonly hostname: string;
  readonly firewall: boolean;
  readonly backend: Backend;
  readonly gateway?: string;
  /** The IPv6 default route's next hop (x-fwlab.gateway6, else the gateway node's IPv6 address). */
  readonly gateway6?: string;
  readonly routes: readonly { readonly to: string; readonly via: string }[];
  readonly dns: readonly string[];
  readonly interfaces: readonly InterfaceSpec[];
  readonly capAdd: readonly string[];
  readonly sysctls: Readonly<Record<string, string>>;
  readonly environment: Readonly<Record<string, string>>;
  readonly command: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** Absolute path of a ruleset loaded when the lab comes up. */
  readonly ruleset?: string;
  /** Only with --allow-unsafe (topology/unsafe-options.ts). */
  readonly privileged: boolean;
  readonly hostNamespaces: Readonly<Partial<Record<"pid" | "ipc" | "uts" | "userns_mode", "host">>>;
  readonly binds: readonly string[];
  /** Which of the lab's hosts runs it (set for every node once the lab is placed). */
  readonly host?: string;
}

export const primaryAddress = (n: NodeSpec): string => n.interfaces[0]?.address ?? "";

/** The node's first IPv6 address, if it has one. */
export const primaryAddress6 = (n: NodeSpec): string | undefined =>
  n.interfaces.find((i) => i.address6)?.address6;

/** Whether any node of the lab speaks IPv6. */
export const isDualStack = (lab: LabSpec): boolean => lab.networks.some((n) => n.subnet6);

/** Docker labels fwlab puts on everything it creates: the source of truth for status and cleanup. */
export const LABEL = {
  lab: "fwlab.lab",
  node: "fwlab.node",
  role: "fwlab.role",
  file: "fwlab.file",
  /** "lan=10.0.1.1,dmz=10.0.2.1": the node's lab addresses (Docker does not know them). */
  addresses: "fwlab.addresses",
  /** "lan=2001:db8:1::1,dmz=2001:db8:2::1": its IPv6 addresses, on dual-stack networks. */
  addresses6: "fwlab.addresses6",
  /** "outside=eth0": a node's interface names where the lab file renames them (default: the network's). */
  ifnames: "fwlab.ifnames",
  firewall: "fwlab.firewall",
  backend: "fwlab.backend",
  /** Seconds the node's services may take to answer: its "fwlab-ready" line comes before then. */
  readyTimeout: "fwlab.ready-timeout",
  inputs: "fwlab.inputs",
  /** Which of a multi-host lab's hosts runs the node (as the lab file or --hosts names it). */
  host: "fwlab.host",
  /** A multi-host lab's hosts, comma-separated: on every node and overlay, so any of them leads to all. */
  hosts: "fwlab.hosts",
  /** An overlay's network name and subnet as the lab file says them. */
  network: "fwlab.network",
  subnet: "fwlab.subnet",
  /** "hostd": fwlab's helper on an engine's host (helper-container.ts), not part of any lab. */
  helper: "fwlab.helper",
} as const;

/** Docker labels fwlab puts on everything it creates: the source of truth for status and cleanup. */
export const LABEL = {
  lab: "fwlab.lab",
  node: "fwlab.node",
  role: "fwlab.role",
  file: "fwlab.file",
  /** "lan=10.0.1.1,dmz=10.0.2.1": the node's lab addresses (Docker does not know them). */
  addresses: "fwlab.addresses",
  firewall: "fwlab.firewall",
  backend: "fwlab.backend",
  /** Seconds the node's services may take to answer: its "fwlab-ready" line comes before then. */
  readyTimeout: "fwlab.ready-timeout",
  inputs: "fwlab.inputs",
  /** "hostd": fwlab's helper on an engine's host (helper-container.ts), not part of any lab. */
  helper: "fwlab.helper",
} as const;

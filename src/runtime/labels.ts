/** Docker labels fwlab puts on everything it creates: the source of truth for status and cleanup. */
export const LABEL = {
  lab: "fwlab.lab",
  node: "fwlab.node",
  role: "fwlab.role",
  network: "fwlab.network",
  file: "fwlab.file",
  firewall: "fwlab.firewall",
  backend: "fwlab.backend",
  inputs: "fwlab.inputs",
} as const;

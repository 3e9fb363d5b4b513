import type { ComposeService } from "./compose-schema.ts";

/**
 * What a lab file may grant its nodes. A lab needs network powers and no more: these, Docker's
 * own defaults (a root shell in a container already has them) and NET_ADMIN, NET_RAW,
 * NET_BIND_SERVICE, NET_BROADCAST. Anything else (SYS_ADMIN, ALL, privileged, the host's
 * namespaces, host mounts) reaches beyond the lab into the host: refused unless whoever runs the
 * lab says so on the command line (--allow-unsafe), never by the file itself.
 */
export const ALLOWED_CAPS = [
  "NET_ADMIN",
  "NET_RAW",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  // Docker's defaults: granting them again changes nothing.
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "SETFCAP",
  "MKNOD",
  "AUDIT_WRITE",
  "SYS_CHROOT",
] as const;

/** One thing a service asks for that needs --allow-unsafe: where, and what it opens. */
export interface UnsafeAsk {
  readonly key: readonly (string | number)[];
  readonly what: string;
}

export function unsafeAsks(svc: ComposeService): UnsafeAsk[] {
  const out: UnsafeAsk[] = [];
  (svc.cap_add ?? []).forEach((cap, i) => {
    const name = cap.toUpperCase().replace(/^CAP_/, "");
    if (!(ALLOWED_CAPS as readonly string[]).includes(name))
      out.push({
        key: ["cap_add", i],
        what: `capability ${cap}${name === "ALL" ? " (every capability)" : ""} reaches beyond the lab; a lab node may have ${ALLOWED_CAPS.slice(0, 4).join(", ")} (and Docker's defaults)`,
      });
  });
  if (svc.privileged) out.push({ key: ["privileged"], what: "privileged gives the node the whole host" });
  for (const ns of ["pid", "ipc", "uts", "userns_mode"] as const)
    if (svc[ns] === "host")
      out.push({
        key: [ns],
        what: `${ns}: host shares the host's ${ns === "userns_mode" ? "user" : ns} namespace`,
      });
  (svc.volumes ?? []).forEach((v, i) => {
    const source = typeof v === "string" ? v.split(":")[0]! : v.source;
    if (source.startsWith("/") || source.startsWith(".") || source.startsWith("~"))
      out.push({ key: ["volumes", i], what: `volume ${source} mounts a host path into the node` });
  });
  return out;
}

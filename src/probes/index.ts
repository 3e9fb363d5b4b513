import type { z } from "zod";
import { InputError } from "../errors.ts";
import { hint } from "../util/did-you-mean.ts";
import { dns } from "./dns.ts";
import { ftp } from "./ftp.ts";
import { http } from "./http.ts";
import { ping } from "./ping.ts";
import type { ProbeKind, ProbeSchema } from "./probe.ts";
import { scan } from "./scan.ts";
import { ssh } from "./ssh.ts";
import { tcp } from "./tcp.ts";
import { udp } from "./udp.ts";

/**
 * Every probe kind. Adding one is a module here (its schema, request and checks) and its
 * handler in the agent (images/common/usr/local/lib/fwlab/probes/<name>.js); the scenario
 * format, its JSON Schema and the runner take it from this list.
 */
export const PROBE_KINDS = registry([ping, tcp, udp, dns, ssh, ftp, http, scan] as const);

/** A probe step's own keys, for every kind (a union on `probe`). */
export type ProbeParams = z.infer<(typeof PROBE_KINDS)[number]["schema"]>;

export const PROBE_NAMES: readonly string[] = PROBE_KINDS.map((k) => k.name);

/** The kind of a step, by the name it uses. */
export function probeKind<S extends { probe: string }>(step: S): ProbeKind<ProbeSchema> {
  const kind = PROBE_KINDS.find((k) => k.name === step.probe);
  if (!kind)
    throw new InputError(
      `probe "${step.probe}" is not supported${hint(step.probe, PROBE_NAMES)}; supported probes are ${PROBE_NAMES.join(", ")}`,
    );
  return kind as unknown as ProbeKind<ProbeSchema>;
}

/** The kinds as given, refusing two with one name. */
function registry<const T extends readonly { readonly name: string }[]>(kinds: T): T {
  const seen = new Set<string>();
  for (const k of kinds) {
    if (seen.has(k.name)) throw new Error(`probe kind "${k.name}" is registered twice`);
    seen.add(k.name);
  }
  return kinds;
}

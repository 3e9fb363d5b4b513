import type { ProbeStep } from "../scenarios/scenario-schema.ts";
import { dns } from "./dns.ts";
import { ftp } from "./ftp.ts";
import { http } from "./http.ts";
import { ping } from "./ping.ts";
import type { Probe } from "./probe.ts";
import { scan } from "./scan.ts";
import { ssh } from "./ssh.ts";
import { tcp } from "./tcp.ts";
import { udp } from "./udp.ts";

/** Every probe kind, by the name a scenario step uses. */
export const probes: { [K in ProbeStep["probe"]]: Probe<Extract<ProbeStep, { probe: K }>> } = {
  ping,
  tcp,
  udp,
  dns,
  ssh,
  ftp,
  http,
  scan,
};

export const probeFor = <S extends ProbeStep>(step: S): Probe<S> => probes[step.probe] as unknown as Probe<S>;

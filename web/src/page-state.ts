import type { LabSummary } from "../../src/server/protocol.ts";

/** What every view reads: the labs the server knows, the lab shown, its firewall shown. */
export interface PageState {
  labs: readonly LabSummary[];
  lab: string;
  firewall: string;
}

export const page: PageState = { labs: [], lab: "", firewall: "" };

export const currentLab = (): LabSummary | undefined => page.labs.find((l) => l.name === page.lab);

/** Whether a lab spans several hosts: each node then says which it runs on. */
export const spans = (l: LabSummary | undefined): boolean => (l?.hosts?.length ?? 1) > 1;

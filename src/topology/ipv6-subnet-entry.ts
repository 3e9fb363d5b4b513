import type { Path } from "../util/yaml-location.ts";
import type { ComposeFile } from "./compose-schema.ts";
import { type Cidr6, cidr6Contains, cidrs6Overlap, formatIpv6, parseCidr6, parseIpv6 } from "./ipv6.ts";

/** A network's IPv6 prefix (its second ipam.config entry, with enable_ipv6), checked. */
export function ipv6SubnetEntry(
  net: string,
  spec: ComposeFile["networks"][string],
  cidrs6: Map<string, Cidr6>,
  fail: (p: Path, msg: string, key?: string) => never,
): string | undefined {
  const entry = spec.ipam.config[1];
  const at = ["networks", net, "ipam", "config", 1, "subnet"];
  if (!entry) {
    if (spec.enable_ipv6)
      fail(
        ["networks", net, "enable_ipv6"],
        "enable_ipv6 needs a second ipam.config entry with the IPv6 subnet",
      );
    return undefined;
  }
  if (!spec.enable_ipv6)
    fail(
      ["networks", net, "ipam", "config", 1],
      "a second ipam.config entry is the IPv6 subnet: set enable_ipv6: true",
    );
  const cidr = parseCidr6(entry.subnet);
  if (!cidr) fail(at, `not an IPv6 subnet: ${JSON.stringify(entry.subnet)}`);
  if (cidr!.prefix > 120) fail(at, `${entry.subnet}: an IPv6 lab network is at most a /120`);
  for (const [other, o] of cidrs6)
    if (cidrs6Overlap(cidr!, o)) fail(at, `subnet ${entry.subnet} overlaps network "${other}" (${o.text})`);
  if (entry.gateway !== undefined) {
    const gw = parseIpv6(entry.gateway);
    if (gw === undefined || !cidr6Contains(cidr!, gw))
      fail(
        ["networks", net, "ipam", "config", 1, "gateway"],
        `gateway ${entry.gateway} is outside the subnet ${entry.subnet}`,
      );
  }
  cidrs6.set(net, cidr!);
  return `${formatIpv6(cidr!.network)}/${cidr!.prefix}`;
}

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.ts";
import { readLabFile } from "../../src/topology/read-lab-file.ts";
import { scratchDir } from "../support/scratch-dir.ts";

const dir = scratchDir("unit");
const write = (name: string, text: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const errorOf = (file: string): InputError => {
  try {
    readLabFile(file);
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  throw new Error("expected an InputError");
};

describe("readLabFile", () => {
  it("reads the default lab: 8 nodes, 3 internal networks, gateways through fw", () => {
    const lab = readLabFile("docker-compose.yml");
    expect(lab.name).toBe("fwlab");
    expect(lab.networks.map((n) => `${n.name} ${n.subnet}`)).toEqual([
      "lan 10.0.1.0/24",
      "dmz 10.0.2.0/24",
      "wan 198.51.100.0/24",
    ]);
    const fw = lab.nodes.find((n) => n.name === "fw")!;
    expect(fw).toMatchObject({
      role: "firewall",
      firewall: true,
      backend: "iptables-nft",
      gateway: undefined,
    });
    expect(fw.interfaces.map((i) => `${i.ifname}=${i.address}`)).toEqual([
      "lan=10.0.1.1",
      "dmz=10.0.2.1",
      "wan=198.51.100.1",
    ]);
    expect(lab.nodes.find((n) => n.name === "client")).toMatchObject({
      gateway: "10.0.1.1",
      firewall: false,
      dns: ["10.0.2.53"],
    });
    expect(lab.nodes.find((n) => n.name === "inet")!.gateway).toBeUndefined();
  });

  it("takes the lab name from the caller first", () => {
    expect(readLabFile("docker-compose.yml", { name: "other" }).name).toBe("other");
  });

  const base = (extra = "", net = "internal: true") => `version: "2.4"
services:
  a:
    image: fwlab/client:latest
    cap_add: [NET_ADMIN]
    networks:
      n1: { ipv4_address: 10.9.1.10 }
    x-fwlab: { role: client${extra} }
networks:
  n1:
    ${net}
    ipam: { config: [{ subnet: 10.9.1.0/24 }] }
`;

  it.each([
    ["a YAML syntax error", "services: [\n", /:2:1: YAML: /],
    ["an empty file", "", /the file is empty/],
    ["binary garbage", Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]), /binary data/],
    [
      "a network that is not internal",
      base("", "internal: false"),
      /:11:15: networks\.n1\.internal: every lab network must be internal/,
    ],
    [
      "a gateway outside the subnet",
      base(", gateway: 10.9.2.1"),
      /:8:39: services\.a\.x-fwlab\.gateway: gateway 10\.9\.2\.1 is outside/,
    ],
    [
      "a gateway that is no lab node",
      base(", gateway: 10.9.1.1"),
      /10\.9\.1\.1 is not the address of any node/,
    ],
    [
      "an unknown key in x-fwlab",
      base(", rol: x"),
      /:8:30: services\.a\.x-fwlab\.rol: unknown key "rol" \(did you mean "role"\?\)/,
    ],
    [
      "a missing required key",
      base().replace("    image: fwlab/client:latest\n", ""),
      /:4:5: services\.a: missing "image"/,
    ],
    [
      "an unknown network",
      base().replace("n1: { ipv4_address", "n2: { ipv4_address"),
      /services\.a\.networks\.n2: unknown network "n2" \(did you mean "n1"\?\)/,
    ],
    [
      "an address outside its network",
      base().replace("10.9.1.10", "10.9.3.10"),
      /10\.9\.3\.10 is not a host address of n1/,
    ],
    [
      "a node without NET_ADMIN",
      base().replace("[NET_ADMIN]", "[NET_RAW]"),
      /services\.a\.cap_add: fwlab nodes need NET_ADMIN/,
    ],
  ])("rejects %s with the file, line and column", (_what, text, message) => {
    const file = write("lab.yml", text);
    const err = errorOf(file);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(message);
    expect(err.message).toContain("lab.yml");
  });

  it("rejects a missing file by name", () => {
    expect(errorOf(join(dir, "nope.yml")).message).toMatch(/nope\.yml: no such file/);
  });
});

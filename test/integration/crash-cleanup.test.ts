import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { fwlab, labBridges, spawnFwlab } from "./cli-helpers.ts";

const LAB = "crashy";
const leftovers = () => ({
  containers: execFileSync("docker", ["ps", "-aq", "--filter", `label=fwlab.lab=${LAB}`], {
    encoding: "utf8",
  }).trim(),
  networks: labBridges(LAB),
  hostRules: execFileSync("iptables", ["-S", "DOCKER-USER"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(`fwlab:${LAB}`))
    .join("\n"),
});

/** Starts `fwlab up` and kills it with SIGKILL once its containers exist: no handler runs. */
async function killUpMidway(): Promise<void> {
  const child = spawnFwlab("up", "test/fixtures/labs/mini.yml", "--name", LAB);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && leftovers().containers === "") await new Promise((r) => setTimeout(r, 25));
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
}

describe("a killed `fwlab up` leaves nothing that the next command cannot clean", () => {
  it("kill -9 during up, then down: no container, network or host rule is left", async () => {
    await killUpMidway();
    const left = leftovers();
    expect(left.networks).not.toBe(""); // the kill really left something behind
    const r = await fwlab("down", "--name", LAB);
    expect(r.code).toBe(0);
    expect(leftovers()).toEqual({ containers: "", networks: "", hostRules: "" });
  });

  it("kill -9 during up, then up again: the new lab comes up whole", async () => {
    await killUpMidway();
    const up = await fwlab("up", "test/fixtures/labs/mini.yml", "--name", LAB);
    expect(up.code, up.stderr).toBe(0);
    const status = JSON.parse((await fwlab("status", "--json", "--name", LAB)).stdout);
    expect(status.ready).toBe(true);
    expect(status.nodes).toHaveLength(3);
    expect((await fwlab("down", "--name", LAB)).code).toBe(0);
    expect(leftovers()).toEqual({ containers: "", networks: "", hostRules: "" });
  });
});

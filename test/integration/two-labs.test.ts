import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { FwlabError, removeLab, startLab } from "../../src/index.ts";
import { connectEngine } from "../../src/runtime/engine.ts";
import { received, sharedLab } from "./shared-lab.ts";

const containersOf = (lab: string) =>
  execFileSync("docker", ["ps", "-aq", "--filter", `label=fwlab.lab=${lab}`], { encoding: "utf8" }).trim();

describe("labs side by side", () => {
  afterAll(async () => {
    const engine = await connectEngine();
    await removeLab(engine, "side");
    await removeLab(engine, "clash");
  });

  it("a second lab runs beside the shared one, each with its own nodes and networks", async () => {
    await using side = await startLab("test/fixtures/labs/mini.yml", { name: "side" });
    const shared = await sharedLab();
    expect(side.nodes.map((n) => n.containerName).sort()).toEqual(["side-client", "side-fw", "side-web"]);
    expect(received((await side.exec("client", ["ping", "-c", "1", "-W", "1", "10.50.2.80"])).stdout)).toBe(
      1,
    );
    expect(received((await shared.exec("client", ["ping", "-c", "1", "-W", "1", "10.0.2.80"])).stdout)).toBe(
      1,
    );
    // The labs share no network: the side client has no path to the shared lab's web server.
    expect(received((await side.exec("client", ["ping", "-c", "1", "-W", "1", "10.0.2.80"])).stdout)).toBe(0);
  });

  it("the `await using` scope removed the side lab", () => {
    expect(containersOf("side")).toBe("");
  });

  it("a lab whose subnets clash with a running lab is refused before anything starts", async () => {
    const err = (await startLab("docker-compose.yml", { name: "clash" }).catch(
      (e: unknown) => e,
    )) as FwlabError;
    expect(err).toBeInstanceOf(FwlabError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(
      /lab clash: network lan \(10\.0\.1\.0\/24\) overlaps network lan \(10\.0\.1\.0\/24\) of running lab "fwtest"/,
    );
    expect(containersOf("clash")).toBe("");
  });
});

import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileProblem } from "../../src/topology/input-file.ts";
import { resolveInProject } from "../../src/topology/project-path.ts";
import { scratchDir } from "../support/scratch-dir.ts";

const dir = scratchDir("unit-paths");
const project = join(dir, "project");
mkdirSync(join(project, "scenarios", "a"), { recursive: true });
mkdirSync(join(dir, "loose", "deep"), { recursive: true });
writeFileSync(join(project, "package.json"), "{}");
writeFileSync(join(project, "rules.sh"), "iptables -P INPUT DROP\n");
writeFileSync(join(dir, "secret"), "root:x\n");
symlinkSync(join(dir, "secret"), join(project, "scenarios", "link.sh"));
const scenario = join(project, "scenarios", "a", "s.scenario.yml");

describe("resolveInProject: what a lab or scenario file may name", () => {
  it("anything inside its project (the folder holding package.json or .git)", () => {
    expect(resolveInProject(scenario, "../../rules.sh")).toEqual({ path: join(project, "rules.sh") });
  });

  it("nothing outside it, by climbing, by an absolute path, or through a link", () => {
    expect(resolveInProject(scenario, "../../../secret").problem).toMatch(
      /^\.\.\/\.\.\/\.\.\/secret \(\S+\/secret\) is outside the project \S+\/project \(the folder holding/,
    );
    expect(resolveInProject(scenario, "/etc/passwd").problem).toMatch(
      /^\/etc\/passwd is outside the project/,
    );
    expect(resolveInProject(scenario, "../link.sh").problem).toMatch(/link\.sh \(\S+\/secret\) is outside/);
  });

  it("without a project above it, only its own folder", () => {
    const loose = join(dir, "loose", "deep", "s.scenario.yml");
    expect(resolveInProject(loose, "x.sh").problem).toBeUndefined();
    expect(resolveInProject(loose, "../x.sh").problem).toMatch(
      /outside the project \S+deep \(its own folder/,
    );
  });

  it("fwlab's own files from anywhere", () => {
    const loose = join(dir, "loose", "s.scenario.yml");
    expect(resolveInProject(loose, join(process.cwd(), "docker-compose.yml")).problem).toBeUndefined();
  });
});

describe("fileProblem: what root cannot read either", () => {
  it("names a folder, a link to nothing, a loop of links", () => {
    symlinkSync("nowhere", join(dir, "dangling"));
    symlinkSync("loop", join(dir, "loop"));
    expect(fileProblem(project)).toBe("a folder, not a file");
    expect(fileProblem(join(dir, "dangling"))).toBe("a symbolic link to nowhere, which does not exist");
    expect(fileProblem(join(dir, "loop"))).toBe("a loop of symbolic links");
    expect(fileProblem(join(dir, "absent"))).toBe("no such file");
    expect(fileProblem(join(project, "rules.sh"))).toBeUndefined();
  });
});

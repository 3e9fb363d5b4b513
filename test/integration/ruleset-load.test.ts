import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FwlabError, type StartedLab } from "../../src/index.ts";
import { OPEN_RULES, received, sharedLab } from "./shared-lab.ts";

const save = async (lab: StartedLab) =>
  (await lab.exec("fw", ["fwlab-ruleset", "save"])).stdout
    .replace(/^\[\d+:\d+\] /gm, "")
    .replace(/\[\d+:\d+\]/g, "[0:0]");

describe("loading rulesets into fw", () => {
  let lab: StartedLab;
  beforeAll(async () => {
    lab = await sharedLab();
  });
  afterAll(() => lab.loadRuleset("fw", OPEN_RULES));

  it("after a load, the node's rules are exactly the loaded ones (no Docker DNS rules)", async () => {
    const r = await lab.loadRuleset("fw", "scenarios/seed-000/stateful.sh");
    expect(r).toMatchObject({ format: "iptables-script", backend: "iptables-nft", rules: 12 });
    const text = await save(lab);
    expect(text).not.toMatch(/DOCKER|127\.0\.0\.11/);
    expect(text.match(/^\*\w+/gm)).toEqual(["*filter"]);
    expect(text.match(/^-A /gm)).toHaveLength(12);
    expect(text).toContain(":INPUT DROP [0:0]");
    expect(text).toContain(
      "-A INPUT -s 10.0.1.10/32 -p tcp -m tcp --dport 22 -j LOG --log-prefix ssh_accept",
    );
  });

  it("seed 000's RELTAED typo fails with its line, and the earlier ruleset stays active", async () => {
    await lab.loadRuleset("fw", "scenarios/demo/forward-counting.rules");
    const before = await save(lab);
    const err = await lab
      .loadRuleset("fw", "scenarios/seed-000/stateful-as-published.sh")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FwlabError);
    const message = (err as FwlabError).message;
    expect(message).toContain("[fw] ruleset scenarios/seed-000/stateful-as-published.sh line 17:");
    expect(message).toContain('Bad ctstate "RELTAED"');
    expect(message).toContain("the previous ruleset is still active");
    expect((err as FwlabError).exitCode).toBe(2);
    expect(await save(lab)).toBe(before);
    // ...and it still acts: lan may ping the dmz, not the wan.
    expect(received((await lab.exec("client", ["ping", "-c", "1", "-W", "1", "10.0.2.80"])).stdout)).toBe(1);
  });

  it("a rule the kernel refuses where the script catches its failure is left out, as the shell would, and said", async () => {
    const r = await lab.loadRuleset("fw", "test/fixtures/rulesets/kernel-refuses.sh");
    expect(r.rules).toBe(3);
    expect(r.notes).toHaveLength(3);
    expect(r.notes[0]).toMatch(
      /kernel-refuses\.sh line 8: the kernel refused this rule \(RULE_APPEND failed \(Invalid argument\)/,
    );
    const rules = (await save(lab)).match(/^-A .*/gm);
    expect(rules).toEqual([
      "-A INPUT -i lo -j ACCEPT",
      "-A INPUT -p tcp -m tcp --dport 2222 -j ACCEPT",
      "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
    ]);
  });

  it("loads an nft file in one transaction and replaces the iptables ruleset", async () => {
    await lab.loadRuleset("fw", "scenarios/seed-000/stateful.sh");
    const r = await lab.loadRuleset("fw", "test/fixtures/rulesets/forward-web.nft");
    expect(r.backend).toBe("nft");
    const ruleset = (await lab.exec("fw", ["nft", "list", "ruleset"])).stdout;
    expect(ruleset).toContain("table inet fwlab_test");
    expect(ruleset).not.toContain("table ip filter");
    expect((await lab.exec("client", ["curl", "-s", "-m", "2", "http://10.0.2.80/"])).exitCode).toBe(0);
    expect(received((await lab.exec("client", ["ping", "-c", "1", "-W", "1", "10.0.2.80"])).stdout)).toBe(0);
  });

  it("a broken nft file names its line and leaves the previous ruleset", async () => {
    const before = (await lab.exec("fw", ["nft", "list", "ruleset"])).stdout;
    const err = (await lab
      .loadRuleset("fw", "test/fixtures/rulesets/broken.nft")
      .catch((e: unknown) => e)) as FwlabError;
    expect(err.message).toMatch(/broken\.nft line 4: .*syntax error/);
    expect((await lab.exec("fw", ["nft", "list", "ruleset"])).stdout).toBe(before);
  });

  it("switches to the legacy backend and clears the nf_tables one", async () => {
    const r = await lab.loadRuleset("fw", "test/fixtures/rulesets/forward-drop.sh", {
      backend: "iptables-legacy",
    });
    expect(r.backend).toBe("iptables-legacy");
    expect((await lab.exec("fw", ["iptables-legacy-save"])).stdout).toContain(":FORWARD DROP");
    expect((await lab.exec("fw", ["nft", "list", "ruleset"])).stdout.trim()).toBe("");
    expect(received((await lab.exec("client", ["ping", "-c", "1", "-W", "1", "10.0.2.80"])).stdout)).toBe(0);
    await lab.loadRuleset("fw", OPEN_RULES);
    expect((await lab.exec("fw", ["iptables-legacy-save"])).stdout).not.toContain("DROP");
    expect(received((await lab.exec("client", ["ping", "-c", "1", "-W", "1", "10.0.2.80"])).stdout)).toBe(1);
  });

  it("a reload restarts nothing: connections and processes survive it", async () => {
    const pid = (await lab.exec("fw", ["pgrep", "-o", "sshd"])).stdout.trim();
    await lab.loadRuleset("fw", "scenarios/seed-000/stateful.sh");
    await lab.loadRuleset("fw", OPEN_RULES);
    expect((await lab.exec("fw", ["pgrep", "-o", "sshd"])).stdout.trim()).toBe(pid);
  });

  it("refuses to load into a node that is not a firewall", async () => {
    await expect(lab.loadRuleset("web", OPEN_RULES)).rejects.toThrow(/\[web\] is not a firewall node/);
  });
});

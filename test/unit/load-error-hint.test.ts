import { describe, expect, it } from "vitest";
import { hintFor } from "../../src/firewall/load-error.ts";

describe("hintFor: what an older script wrote that this tool refuses", () => {
  it("a log level in capitals (rc.firewall's --log-level DEBUG): the name this iptables takes", () => {
    expect(hintFor('log level "DEBUG" unknown')).toBe(
      " (this iptables takes log levels in lower case or as numbers 0-7: --log-level debug)",
    );
    expect(hintFor("log level `Info' unknown")).toContain("--log-level info");
  });

  it("nothing for a level that is no level, or for other messages", () => {
    expect(hintFor('log level "LOUD" unknown')).toBe("");
    expect(hintFor('log level "loud" unknown')).toBe("");
    expect(hintFor("Chain 'X' does not exist")).toBe("");
  });
});

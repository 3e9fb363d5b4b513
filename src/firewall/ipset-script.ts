import type { RestoreDocument } from "./restore-document.ts";
import { CommandFailed, ScriptError } from "./script-error.ts";
import type { Outcome } from "./script-shell.ts";

/**
 * The `ipset` commands of a rules script (a blocklist the rules match with `-m set
 * --match-set`), played as ipset would run them against a node with none, into one `ipset
 * restore` document: each set's `create`, then a `flush` of each (a set the node already has
 * holds exactly the script's entries afterwards), then the entries. The node's loader restores
 * it with -exist before the rules, which need the sets to be there.
 */
export class IpSets {
  /** By name: its create line, and its entries by element (the first word) with their text and line. */
  private readonly sets = new Map<
    string,
    { create: string; line: number; entries: Map<string, { text: string; line: number }> }
  >();

  /** Plays one `ipset ...` command (its words after "ipset"); false as `ipset test` says no. */
  play(args: readonly string[], line: number): Outcome {
    // ipset restore reads one command per line: no word may carry a line of its own.
    if (args.some((a) => /[\x00-\x1f\x7f]/.test(a)))
      throw new ScriptError(
        line,
        "a control character (a newline, a tab) inside a word: not an ipset command",
      );
    const exist = args.some((a) => a === "-exist" || a === "-!");
    const words: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (/^-(exist|!|q|quiet|r|resolve|s|sorted|n|name|t|terse)$/.test(a)) continue;
      if (/^-(o|output)$/.test(a)) {
        i++;
        continue;
      }
      if (/^-(f|file)$/.test(a))
        throw new ScriptError(
          line,
          "ipset -file reads a file of the host it would run on: put its commands in the script",
        );
      words.push(a);
    }
    const [op = "", name, ...rest] = words;
    const failed = (why: string) => new CommandFailed(line, `ipset ${op}: ${why}`);
    const set = name === undefined ? undefined : this.sets.get(name);
    const needSet = () => {
      if (!name) throw failed("needs a set name");
      if (!set) throw failed(`the set with the given name (${name}) does not exist`);
      return set;
    };
    switch (op) {
      case "create":
      case "n":
      case "-N": {
        if (!name || !/^[^\s"'-][^\s"']{0,30}$/.test(name))
          throw failed(`"${name ?? ""}" is not a set name ipset takes`);
        if (rest.length === 0) throw failed("needs a set type (hash:ip, hash:net, ...)");
        const create = ["create", name, ...rest].join(" ");
        if (set && !(exist && set.create === create)) throw failed(`a set named ${name} already exists`);
        if (!set) this.sets.set(name, { create, line, entries: new Map() });
        return true;
      }
      case "add":
      case "a":
      case "-A": {
        const s = needSet();
        if (rest.length === 0) throw failed("needs an entry");
        const entry = rest.join(" ");
        if (s.entries.has(rest[0]!) && !exist) throw failed(`${rest[0]} is already in ${name}`);
        s.entries.set(rest[0]!, { text: entry, line });
        return true;
      }
      case "del":
      case "d":
      case "-D": {
        const s = needSet();
        if (!s.entries.delete(rest[0] ?? "") && !exist)
          throw failed(`${rest[0] ?? "(none)"} is not in ${name}`);
        return true;
      }
      case "test":
      case "t":
      case "-T":
        return needSet().entries.has(rest[0] ?? "");
      case "flush":
      case "f":
      case "-F":
        if (name === undefined) for (const s of this.sets.values()) s.entries.clear();
        else needSet().entries.clear();
        return true;
      case "destroy":
      case "x":
      case "-X":
        if (name === undefined) this.sets.clear();
        else if (needSet()) this.sets.delete(name);
        return true;
      case "list":
      case "l":
      case "-L":
      case "save":
      case "s":
      case "-S":
      case "version":
      case "help":
        return true;
      default:
        throw new ScriptError(
          line,
          `ipset ${op}: not played in a rules script (create, add, del, test, flush and destroy are); write the sets' commands themselves`,
        );
    }
  }

  /** The `ipset restore` document, each line with the script line it came from; none without sets. */
  document(): RestoreDocument | undefined {
    if (this.sets.size === 0) return undefined;
    const lines: [string, number][] = [];
    for (const s of this.sets.values()) lines.push([s.create, s.line]);
    for (const [name, s] of this.sets) lines.push([`flush ${name}`, s.line]);
    for (const [name, s] of this.sets)
      for (const { text, line } of s.entries.values()) lines.push([`add ${name} ${text}`, line]);
    return {
      text: `${lines.map(([l]) => l).join("\n")}\n`,
      sourceLine: (n) => lines[n - 1]?.[1],
      tables: [],
    };
  }
}

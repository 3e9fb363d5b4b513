import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import { FwlabError } from "../errors.ts";
import { stateDir } from "../util/state-dir.ts";

/** What a token opens: every lab (the token `fwlab serve` prints, the teacher's) or one lab. */
export type Access = { readonly all: true } | { readonly all: false; readonly lab: string };

export const canSee = (a: Access, lab: string | undefined): boolean => a.all || a.lab === lab;

const stored = z.array(z.strictObject({ lab: z.string(), sha256: z.string(), created: z.number() }));
type Stored = z.infer<typeof stored>;

const digest = (token: string) => createHash("sha256").update(token).digest("hex");

/**
 * One token per lab for a class: `fwlab token create LAB` hands a student a token that opens
 * only that lab's page, API calls, streams and terminals. Tokens are kept as SHA-256 digests
 * (the file never holds one that works) in a file only its owner reads; a running `fwlab serve`
 * reads it again whenever it changed, so a token works (or stops working) at once.
 */
export class LabTokens {
  private cache?: { mtimeMs: number; size: number; tokens: Stored };

  constructor(readonly file = join(stateDir(), "tokens.json")) {}

  /** A new token for `lab` (an earlier one for it keeps working until revoked). */
  create(lab: string): string {
    if (!/^[\w.-]{1,63}$/.test(lab)) throw new FwlabError(`"${lab}" is not a lab name`, 2);
    const token = `lab.${randomBytes(24).toString("base64url")}`;
    this.write([...this.read(), { lab, sha256: digest(token), created: Date.now() }]);
    return token;
  }

  /** Revokes every token of `lab`; returns how many there were. */
  revoke(lab: string): number {
    const all = this.read();
    const kept = all.filter((t) => t.lab !== lab);
    if (kept.length !== all.length) this.write(kept);
    return all.length - kept.length;
  }

  list(): readonly { lab: string; created: number }[] {
    return this.read().map(({ lab, created }) => ({ lab, created }));
  }

  /** The lab a token opens, if it is one of these. */
  labOf(token: string): string | undefined {
    const d = digest(token);
    return this.read().find((t) => t.sha256 === d)?.lab;
  }

  private read(): Stored {
    let st: { mtimeMs: number; size: number };
    try {
      st = statSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return []; // no token made yet
      throw new FwlabError(`${this.file} cannot be read: ${(err as Error).message}`);
    }
    if (this.cache?.mtimeMs === st.mtimeMs && this.cache.size === st.size) return this.cache.tokens;
    const parsed = stored.safeParse(JSON.parse(readFileSync(this.file, "utf8")));
    if (!parsed.success)
      throw new FwlabError(
        `${this.file} is not fwlab's token file: remove it, then create the lab tokens again`,
      );
    this.cache = { mtimeMs: st.mtimeMs, size: st.size, tokens: parsed.data };
    return parsed.data;
  }

  private write(tokens: Stored): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }
}

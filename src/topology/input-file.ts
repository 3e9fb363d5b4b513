import { accessSync, constants, readFileSync, readlinkSync, type Stats, statSync } from "node:fs";
import { InputError } from "../errors.ts";
import { displayPath } from "../util/display-path.ts";

/**
 * Why a path cannot be read as an input file, in words; undefined when it can. Root reads a
 * file whatever its mode, so for root what makes a path unreadable is what it is: a folder, a
 * FIFO (reading it would wait forever), a link to nothing, a loop of links.
 */
export function fileProblem(path: string): string | undefined {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      try {
        return `a symbolic link to ${readlinkSync(path)}, which does not exist`;
      } catch {
        return "no such file";
      }
    }
    if (code === "ELOOP") return "a loop of symbolic links";
    if (code === "ENOTDIR") return "no such file (part of the path is not a folder)";
    if (code === "EACCES") return "not readable (permission denied)";
    return (err as Error).message;
  }
  if (st.isDirectory()) return "a folder, not a file";
  if (!st.isFile())
    return `not a regular file (${st.isFIFO() ? "a FIFO" : st.isSocket() ? "a socket" : "a device"})`;
  try {
    accessSync(path, constants.R_OK);
  } catch {
    return "not readable (permission denied)";
  }
  return undefined;
}

export interface InputFileKind {
  /** "a lab file", "a scenario", "a ruleset": what the file should have been. */
  readonly what: string;
  readonly maxBytes: number;
  /** Said after "the file is empty; ". */
  readonly whenEmpty: string;
  /** How errors start (default: the path as the user would type it). */
  readonly label?: string;
}

/**
 * Reads a text file fwlab was given, refusing before parsing anything what no parser should
 * see: a path that is no readable file, an empty file, one over the size limit (checked before
 * reading: a 50 MB file is never read), binary data. Each refusal is one InputError.
 */
export function readInputFile(path: string, kind: InputFileKind): string {
  const label = kind.label ?? displayPath(path);
  const problem = fileProblem(path);
  if (problem) throw new InputError(`${label}: ${problem}`);
  const size = statSync(path).size;
  if (size > kind.maxBytes) {
    throw new InputError(
      `${label}: ${size} bytes is too large for ${kind.what} (limit ${kind.maxBytes / 1024 / 1024} MiB)`,
    );
  }
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new InputError(`${label}: cannot read it (${(err as Error).message})`);
  }
  // A NUL byte, or bytes that are not UTF-8 (decoded as U+FFFD): binary data, at its line.
  const text = buf.toString("utf8");
  const nul = text.indexOf("\0");
  const notUtf8 = nul < 0 && !Buffer.from(text, "utf8").equals(buf);
  const bad = notUtf8 ? text.indexOf("\uFFFD") : nul;
  if (bad >= 0) {
    const line = text.slice(0, bad).split("\n").length;
    throw new InputError(
      `${label} line ${line}: binary data (${notUtf8 ? "not UTF-8 text" : "a NUL byte"}), not ${kind.what}`,
    );
  }
  if (text.trim() === "") throw new InputError(`${label}: the file is empty; ${kind.whenEmpty}`);
  return text;
}

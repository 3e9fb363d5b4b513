import { LineCounter, type Node, parseDocument, visit } from "yaml";
import { InputError } from "../errors.ts";
import { displayPath } from "../util/display-path.ts";
import { location, type Path } from "../util/yaml-location.ts";

export interface YamlFile {
  readonly data: unknown;
  /** "file:line:col: a.b.c: " for a key path, for errors about the data. */
  readonly where: (path: Path, key?: string) => string;
}

/**
 * Parses the text of a lab or scenario file into plain data, or throws one InputError at
 * file:line:col: a syntax error, a duplicate key, or aliases that expand past 100 copies (a
 * "billion laughs" document, a few lines that would expand to gigabytes).
 */
export function parseYamlFile(path: string, text: string): YamlFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const pos = lines.linePos(offset);
    return `${displayPath(path)}:${pos.line}:${pos.col}: `;
  };
  const error = doc.errors[0];
  if (error) throw new InputError(`${at(error.pos[0])}YAML: ${error.message.split("\n")[0]}`);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch {
    let first: Node | undefined;
    visit(doc, {
      Alias(_, node) {
        first = node;
        return visit.BREAK;
      },
    });
    throw new InputError(
      `${at(first?.range?.[0] ?? 0)}YAML: these aliases expand to more than 100 copies (a "billion laughs" document); write the values out`,
    );
  }
  return { data, where: (p, key) => location(path, doc.contents, lines, p, key) };
}

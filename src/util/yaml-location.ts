import { isMap, isPair, isScalar, type LineCounter, type Node } from "yaml";
import { displayPath } from "./display-path.ts";

export type Path = readonly (string | number)[];

/** "file:line:col: a.b.c: " for a key path (and optionally one key of the map at that path). */
export function location(file: string, root: unknown, lines: LineCounter, path: Path, key?: string): string {
  let node = root as Node | undefined;
  let keyNode: Node | undefined;
  for (const step of [...path, ...(key !== undefined ? [key] : [])]) {
    if (!node || !("items" in node)) break;
    const items = (node as { items: unknown[] }).items;
    if (isMap(node)) {
      const pair = items.find(
        (it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(step),
      );
      if (!pair || !isPair(pair)) break;
      keyNode = pair.key as Node;
      node = (pair.value ?? pair.key) as Node;
    } else {
      node = items[Number(step)] as Node | undefined;
      keyNode = node;
    }
  }
  const target = key !== undefined ? keyNode : (node ?? keyNode);
  const offset = target?.range?.[0] ?? 0;
  const pos = lines.linePos(offset);
  const dotted = [...path, ...(key !== undefined ? [key] : [])].join(".");
  return `${displayPath(file)}:${pos.line}:${pos.col}: ${dotted ? `${dotted}: ` : ""}`;
}

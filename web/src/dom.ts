// Small DOM helpers every view uses.

/** The element with this id; the page's HTML defines every id a view asks for. */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

export const text = (s: unknown): Text => document.createTextNode(String(s ?? ""));

/** An element with properties and children: el("li", { className: "ok" }, "text"). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

export const option = (value: string, label = value): HTMLOptionElement =>
  el("option", { value, textContent: label });

/** "10.0.1.10:41234", "[2001:db8:1::10]:41234": the CLI's own writer. */
export { hostPort } from "../../src/evidence/format-event.ts";

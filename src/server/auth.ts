import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { networkInterfaces } from "node:os";

/**
 * The dashboard runs commands inside lab nodes (rule loads, scenario runs, terminals), so:
 *  - every request carries a token fwlab generated at start, in a header only (`Authorization:
 *    Bearer`, or for a WebSocket the subprotocol `token.<token>`): never in a URL once the page
 *    has it (the printed URL carries it in its fragment, which no request sends);
 *  - the Host header must name this server (loopback names, or what it was bound to): a page
 *    elsewhere cannot reach it through DNS rebinding;
 *  - a WebSocket must come from the page's own origin.
 */
export const newToken = (): string => randomBytes(24).toString("base64url");

export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of a request: `Authorization: Bearer X`. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  return typeof auth === "string" && auth.startsWith("Bearer ") ? auth.slice(7) : undefined;
}

/** The WebSocket subprotocol the page asks for, with its token beside it: `fwlab.v1, token.X`. */
export const WS_PROTOCOL = "fwlab.v1";
export function wsToken(headers: IncomingHttpHeaders): string | undefined {
  const offered = String(headers["sec-websocket-protocol"] ?? "")
    .split(",")
    .map((p) => p.trim());
  return offered.find((p) => p.startsWith("token."))?.slice(6);
}

/**
 * The names a request's Host header may carry: loopback names, the bound address, and when bound
 * to every address, this machine's own addresses and name.
 */
export function allowedHosts(bound: string, hostname: string): Set<string> {
  const names = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);
  if (bound === "0.0.0.0" || bound === "::") {
    names.add(hostname.toLowerCase());
    for (const addrs of Object.values(networkInterfaces()))
      for (const a of addrs ?? []) names.add(a.family === "IPv6" ? `[${a.address}]` : a.address);
  } else names.add(bound.includes(":") ? `[${bound}]` : bound.toLowerCase());
  return names;
}

/** Does a Host header name this server (any port)? */
export function hostAllowed(host: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (!host) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(host.trim().toLowerCase());
  return !!m && allowed.has(m[1]!);
}

/** The Origin header of a WebSocket upgrade must name the host the page was served from. */
export function originAllowed(origin: string | undefined, host: string | undefined): boolean {
  if (!origin || !host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Headers on every response: the page's own scripts only, never framed, no sniffing, no
 * referrer (a bundle file's address never leaves), nothing that names the server software.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Resource-Policy": "same-origin",
};

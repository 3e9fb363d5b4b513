import { randomBytes, timingSafeEqual } from "node:crypto";

/**
 * The dashboard runs commands inside lab nodes (rule loads, scenario runs), so every request
 * carries a token fwlab generated at start (printed in the URL), and WebSocket upgrades must
 * also come from the page's own origin: a web page elsewhere cannot drive the lab.
 */
export const newToken = (): string => randomBytes(24).toString("base64url");

export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
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

/** The token from `Authorization: Bearer X` or `?token=X`. */
export function tokenOf(
  headers: Record<string, string | string[] | undefined>,
  url: string,
): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === "string" && auth.startsWith("Bearer ")) return auth.slice(7);
  return new URL(url, "http://x").searchParams.get("token") ?? undefined;
}

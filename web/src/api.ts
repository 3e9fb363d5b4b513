// The REST API, with the token in a header on every request.

// The printed URL carries the token in its fragment (no request sends a fragment): the page
// keeps it in memory only and takes it out of the address bar and history. A reload therefore
// needs the printed URL again (the page says so): no storage of this origin holds the token.
const hash = new URLSearchParams(location.hash.slice(1));
const fromUrl = hash.get("token");
if (fromUrl) {
  hash.delete("token"); // the rest (#lab=NAME) stays
  history.replaceState(null, "", `${location.pathname}${hash.size ? `#${hash}` : ""}`);
}
export const token: string = fromUrl ?? "";

/** An API error: the server's one-line reason, and its body (a load error's line). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly body: { error?: string; line?: number },
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const r = await fetch(path, {
    ...init,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...init.headers },
  });
  const body = await r.json();
  if (!r.ok) throw new ApiError(body.error ?? r.statusText, body);
  return body as T;
}

/** A file of the API fetched with the token and saved as a download (never rendered here). */
export async function download(path: string, name: string): Promise<void> {
  const r = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  const url = URL.createObjectURL(await r.blob());
  Object.assign(document.createElement("a"), { href: url, download: name }).click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

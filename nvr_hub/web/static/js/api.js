// Talking to the hub: relative URLs only (the UI may sit behind a path prefix such as
// Home Assistant ingress), JSON in and out, the API's {"error"} turned into an Error.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

let onUnauthorized = () => { location.href = "login.html"; };

/** Where to go when a call answers 401 (the session ended). */
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

/** A relative API URL with query parameters (empty values left out). */
export function url(path, params = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    qs.set(k, String(v));
  }
  const q = qs.toString();
  return q ? `${path}?${q}` : path;
}

async function errorOf(res) {
  let message = `${res.status} ${res.statusText}`;
  try {
    const data = await res.json();
    if (data && typeof data.error === "string") message = data.error;
  } catch { /* not JSON: keep the status line */ }
  if (res.status === 429) {
    const after = res.headers.get("Retry-After");
    if (after) message += ` (try again in ${after} s)`;
  }
  return new ApiError(message, res.status);
}

/** fetch() that throws ApiError on any non-2xx answer; 401 also calls the handler. */
export async function raw(path, options = {}) {
  let res;
  try {
    res = await fetch(path, { credentials: "same-origin", ...options });
  } catch (err) {
    throw new ApiError(`the hub did not answer (${err.message})`, 0);
  }
  if (res.status === 401 && !options.noRedirect) {
    onUnauthorized();
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

/** A JSON call; `body` is sent as JSON. */
export async function api(path, { method = "GET", body, signal, noRedirect } = {}) {
  const options = { method, signal, noRedirect, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const res = await raw(path, options);
  if (res.status === 204) return {};
  const type = res.headers.get("Content-Type") || "";
  return type.includes("json") ? res.json() : res.text();
}

export const get = (path, params) => api(url(path, params));
export const post = (path, body = {}, opts = {}) => api(path, { method: "POST", body, ...opts });
export const put = (path, body = {}, opts = {}) => api(path, { method: "PUT", body, ...opts });
export const del = (path, params) => api(url(path, params), { method: "DELETE" });

/** Path segment for a stream name (names may hold spaces). */
export const enc = (name) => encodeURIComponent(name);

let schemaCache = null;
/** The hub's OpenAPI document (cached): forms take field types and ranges from it. */
export async function openapi() {
  if (!schemaCache) schemaCache = get("api/openapi.json").catch((err) => { schemaCache = null; throw err; });
  return schemaCache;
}

/** The JSON schema of a route's request body, or null. */
export async function bodySchema(path, method) {
  const doc = await openapi();
  const op = doc.paths?.[path]?.[method.toLowerCase()];
  return op?.requestBody?.content?.["application/json"]?.schema ?? null;
}

/** Save a response body as a download, with the file name the server gave. */
export async function download(res, fallbackName) {
  const blob = await res.blob();
  const disposition = res.headers.get("Content-Disposition") || "";
  const match = /filename="?([^";]+)"?/.exec(disposition);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = match ? match[1] : fallbackName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

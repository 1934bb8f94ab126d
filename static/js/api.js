// How the pages reach the services: base URLs from <body data-*-base> ('' is this origin;
// other origins in the split shape, called with the session cookie and the CSRF header).
import { csrfToken } from "./session.js";

const data = document.body.dataset;

export const bases = {
  ui: data.uiBase || "",
  auth: data.authBase || "",
  metadata: data.metadataBase || "",
  download: data.downloadBase || "",
  upload: "", // the main page is served by the upload service itself
};

export const me = {
  username: data.user || "",
  admin: data.role === "admin",
};

export class ApiError extends Error {
  constructor(status, detail, code = "") {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

export function loginUrl() {
  const here = bases.auth ? window.location.href
    : window.location.pathname + window.location.search + window.location.hash;
  return `${bases.auth}/login?next=${encodeURIComponent(here)}`;
}

/** The JSON error body ({detail, code}) of a failed answer, as an ApiError. */
export function errorFromBody(status, text, statusText = "") {
  let detail = statusText || `HTTP ${status}`;
  let code = "";
  try {
    const body = JSON.parse(text);
    if (typeof body.detail === "string") detail = body.detail;
    if (typeof body.code === "string") code = body.code;
  } catch { /* not JSON */ }
  return new ApiError(status, detail, code);
}

/** fetch() a JSON API: credentials, CSRF header on writes, errors as ApiError. */
export async function api(base, path, { method = "GET", json, headers = {}, signal } = {}) {
  const init = {
    method,
    credentials: "include",
    signal,
    headers: { Accept: "application/json", ...headers },
  };
  if (method !== "GET" && method !== "HEAD") init.headers["X-CSRF-Token"] = csrfToken();
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(base + path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "the server could not be reached", "network");
  }
  if (response.status === 401) {
    window.location.assign(loginUrl());
    throw new ApiError(401, "your session has ended; log in again", "unauthorized");
  }
  if (!response.ok) throw errorFromBody(response.status, await response.text(), response.statusText);
  return response.status === 204 ? null : response.json();
}

/** A sentence for a person, from an ApiError or anything else thrown. */
export function describeError(error, { limit } = {}) {
  const status = error && typeof error.status === "number" ? error.status : -1;
  const detail = error && error.message ? error.message : String(error);
  switch (status) {
    case 0:
      return "Network error: the server could not be reached. Check the connection and try again.";
    case 401:
      return "Your session has ended. Log in again.";
    case 403:
      return error.code === "csrf_failed"
        ? "Your session is out of date. Reload the page and try again."
        : `Not allowed: ${detail}.`;
    case 404:
      return "Not found: it may have been deleted.";
    case 413:
      if (error.code === "quota_exceeded") return "Not enough space: this would exceed your storage quota.";
      return limit ? `Too large: the server accepts files up to ${limit}.` : "Too large for the server.";
    case 503:
      return "The service is unavailable right now. Try again in a moment.";
    case 507:
      return "The server's storage is full; nothing was stored. Try again later or tell the admin.";
    default:
      return status > 0 ? `Failed (${status}): ${detail}.` : `Failed: ${detail}.`;
  }
}

// The server API, called with the signed-in key as a bearer token (kept in sessionStorage).
const KEY = "neuralMemory.apiKey";
const BRAIN = "neuralMemory.brain";

/** The server's root: the page lives at <root>/dashboard/. */
export const root = location.pathname.replace(/\/dashboard\/?.*$/, "");

export class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value); else sessionStorage.removeItem(KEY);
  },
  get brain() { return sessionStorage.getItem(BRAIN); },
  set brain(value) { sessionStorage.setItem(BRAIN, value); },
};

/** Call the API: JSON in and out; a non-2xx answer throws an ApiError. */
export async function api(path, { method = "GET", body, key = session.key } = {}) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(root + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit", cache: "no-store",
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(response.status, data?.error ?? "HTTPError", data?.message ?? response.statusText);
  }
  return data;
}

/** Paths of one brain: engine API and dashboard API. */
export function brainPath(rest = "") {
  return `/brains/${encodeURIComponent(session.brain)}${rest}`;
}
export function dashPath(rest = "") {
  return `/dashboard/api/brains/${encodeURIComponent(session.brain)}${rest}`;
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(name, item);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

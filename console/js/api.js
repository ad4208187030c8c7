// The console's API client: same origin (CloudFront in AWS, the gateway locally), the Cognito ID token as
// `Authorization: Bearer`, and every refusal turned into an ApiError carrying the API's own message.
import { currentSession } from "./auth.js";

export class ApiError extends Error {
  constructor(status, body) {
    super(body.message || `the request failed (${status})`);
    this.status = status;
    this.code = body.code || null;
    this.reasons = body.reasons || [];
  }
  get text() {
    return this.reasons.length > 1 ? `${this.message}: ${this.reasons.join("; ")}` : this.message;
  }
}

export async function request(method, path, { body, query, accept } = {}) {
  const session = currentSession();
  if (!session) {
    window.dispatchEvent(new Event("signed-out"));
    throw new ApiError(401, { message: "Your sign-in has expired; sign in again." });
  }
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Authorization: `Bearer ${session.idToken}`, Accept: accept || "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
  });
  if (response.status === 401) {
    window.dispatchEvent(new Event("signed-out"));
    throw new ApiError(401, { message: "Your sign-in has expired; sign in again." });
  }
  if (!response.ok) {
    const answer = await response.json().catch(() => ({}));
    throw new ApiError(response.status, answer);
  }
  if (accept && accept !== "application/json") return response.blob();
  return response.status === 204 ? null : response.json();
}

export const api = {
  get: (path, query) => request("GET", path, { query }),
  put: (path, body) => request("PUT", path, { body }),
  post: (path, body, query) => request("POST", path, { body, query }),
  delete: (path) => request("DELETE", path),
};

// Calls to the gateway's customer API: the session as a Bearer token, its envelope of
// errors ({"error": {code, message, requestId}}) as ApiError, Retry-After in seconds,
// and how fresh an answer is from Cache-Status (RFC 9211) and Age.

export class ApiError extends Error {
  constructor(status, code, message, { retryAfter = null, requestId = "" } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.requestId = requestId;
  }
}

// The session ended (expired, or the gateway refused it): the page is back at sign-in.
export class SessionEnded extends Error {}

// RFC 9110 10.2.3: delay-seconds or an HTTP-date; null when absent or unreadable.
export function retryAfterSeconds(value, now = Date.now()) {
  if (!value) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

// When Opower gave this answer, and whether the gateway served it stale (Opower failed
// or the day's budget was spent, so a kept copy stood in: docs/customer-api.md).
export function freshness(headers, now = Date.now()) {
  const status = headers.get("Cache-Status") || "";
  const age = Number(headers.get("Age"));
  const asOf = new Date(Number.isFinite(age) && headers.get("Age") !== null ? now - age * 1000 : now);
  const stale = /fwd=stale/.test(status) || /;\s*ttl=-\d/.test(status);
  const detail = (status.match(/detail="?([A-Za-z-]+)/) || [])[1] || "";
  return { asOf, stale, detail };
}

const FALLBACK = {
  0: "The gateway could not be reached. Check your connection and try again.",
  429: "Too many requests just now.",
  502: "Your utility's energy service did not answer.",
  503: "Your utility's energy service is unavailable.",
  504: "Your utility's energy service took too long to answer.",
};

export function createApi(config, session, onSessionEnd) {
  async function call(method, path, body) {
    const current = session();
    if (!current || Date.now() >= current.expiresAt) {
      onSessionEnd("expired");
      throw new SessionEnded();
    }
    const init = { method, headers: { Authorization: `Bearer ${current.token}` } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let answer;
    try {
      answer = await fetch(config.gateway + path, init);
    } catch {
      throw new ApiError(0, "unreachable", FALLBACK[0]);
    }
    if (answer.status === 401) {
      onSessionEnd("refused");
      throw new SessionEnded();
    }
    const text = await answer.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!answer.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(
        answer.status,
        error.code || `http_${answer.status}`,
        error.message || (data && data.message) || FALLBACK[answer.status] || `The gateway answered ${answer.status}.`,
        {
          retryAfter: retryAfterSeconds(answer.headers.get("Retry-After")),
          requestId: error.requestId || answer.headers.get("X-Request-Id") || "",
        },
      );
    }
    return { status: answer.status, data, freshness: freshness(answer.headers) };
  }
  return {
    get: (path) => call("GET", path),
    put: (path, body) => call("PUT", path, body),
    post: (path, body) => call("POST", path, body),
    remove: (path) => call("DELETE", path),
  };
}

// A list operation's `response` is an array or, as Oracle's own example shows, one object.
export function listOf(data) {
  const response = data && data.response;
  return response === undefined || response === null ? [] : [].concat(response);
}

// The portal's calls to the gateway (portal/js/api.js), under Node's own test runner with
// fetch replaced: what the page does with each kind of answer, before any browser runs.
// Run by tests/unit/test_portal_scripts.py (`make test`).
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, SessionEnded, createApi, freshness, listOf, retryAfterSeconds } from "../../portal/js/api.js";

const config = { gateway: "https://api.example" };
const live = () => ({ token: "session-token", expiresAt: Date.now() + 60_000 });

function answering(status, body, headers = {}) {
  const calls = [];
  globalThis.fetch = async (url, init) => {
    calls.push({ url, init });
    return new Response(body === undefined ? null : JSON.stringify(body), { status, headers });
  };
  return calls;
}

test("Retry-After is read as seconds or as an HTTP date (RFC 9110 10.2.3)", () => {
  assert.equal(retryAfterSeconds("120"), 120);
  assert.equal(retryAfterSeconds(" 3 "), 3);
  const now = Date.parse("2026-12-07T12:00:00Z");
  assert.equal(retryAfterSeconds("Mon, 07 Dec 2026 12:01:30 GMT", now), 90);
  assert.equal(retryAfterSeconds("Mon, 07 Dec 2026 11:00:00 GMT", now), 0);
  assert.equal(retryAfterSeconds("soon"), null);
  assert.equal(retryAfterSeconds(null), null);
});

test("Cache-Status and Age say when Opower gave the answer, and whether it stood in", () => {
  const now = Date.parse("2026-12-07T12:00:00Z");
  const headers = (status, age) => new Headers({ "Cache-Status": status, ...(age === undefined ? {} : { Age: age }) });
  const fresh = freshness(headers("OpowerGateway; hit; ttl=300", "60"), now);
  assert.deepEqual([fresh.stale, fresh.asOf.toISOString()], [false, "2026-12-07T11:59:00.000Z"]);
  const failed = freshness(headers('OpowerGateway; fwd=stale; fwd-status=503; ttl=-40; detail="upstream-error"', "3600"), now);
  assert.deepEqual([failed.stale, failed.detail, failed.asOf.toISOString()], [true, "upstream-error", "2026-12-07T11:00:00.000Z"]);
  const spent = freshness(headers('OpowerGateway; hit; ttl=-5; detail="budget-spent"', "10"), now);
  assert.deepEqual([spent.stale, spent.detail], [true, "budget-spent"]);
  const asked = freshness(headers("OpowerGateway; fwd=miss; fwd-status=200; stored"), now);
  assert.deepEqual([asked.stale, asked.asOf.getTime()], [false, now]);
});

test("a list is read whether Opower sends an array or one object", () => {
  assert.deepEqual(listOf({ response: [{ id: 1 }, { id: 2 }] }), [{ id: 1 }, { id: 2 }]);
  assert.deepEqual(listOf({ response: { id: 1 } }), [{ id: 1 }]);
  assert.deepEqual(listOf({ response: null }), []);
  assert.deepEqual(listOf(null), []);
});

test("a call carries the session as a Bearer token and JSON only when there is a body", async () => {
  const calls = answering(200, { response: { threshold: 1 } });
  const api = createApi(config, live, () => assert.fail("no session end"));
  const answer = await api.put("/v1/me/threshold", { threshold: 1, percentage: 2 });
  assert.equal(calls[0].url, "https://api.example/v1/me/threshold");
  assert.equal(calls[0].init.headers.Authorization, "Bearer session-token");
  assert.equal(calls[0].init.headers["Content-Type"], "application/json");
  assert.equal(calls[0].init.body, '{"threshold":1,"percentage":2}');
  assert.deepEqual(answer.data, { response: { threshold: 1 } });
  await api.get("/v1/me/accounts");
  assert.equal(calls[1].init.body, undefined);
  assert.equal(calls[1].init.headers["Content-Type"], undefined);
});

test("the gateway's error envelope becomes an ApiError with its code, message and Retry-After", async () => {
  answering(429, { error: { code: "too_many_requests", message: "slow down", requestId: "r-1" } }, { "Retry-After": "7" });
  const api = createApi(config, live, () => {});
  await assert.rejects(api.get("/v1/me/tips"), (error) => {
    assert.ok(error instanceof ApiError);
    assert.deepEqual([error.status, error.code, error.message, error.retryAfter, error.requestId], [429, "too_many_requests", "slow down", 7, "r-1"]);
    return true;
  });
  answering(502, "<html>bad gateway</html>");
  await assert.rejects(api.get("/v1/me/tips"), (error) => error.status === 502 && /did not answer/.test(error.message));
  globalThis.fetch = async () => { throw new TypeError("Failed to fetch"); };
  await assert.rejects(api.get("/v1/me/tips"), (error) => error.status === 0 && error.code === "unreachable");
});

test("a 401 or a session past its expiry ends the session without a call", async () => {
  const ended = [];
  const calls = answering(401, { message: "Unauthorized" });
  const api = createApi(config, live, (why) => ended.push(why));
  await assert.rejects(api.get("/v1/me/accounts"), SessionEnded);
  assert.deepEqual(ended, ["refused"]);
  const expired = createApi(config, () => ({ token: "t", expiresAt: Date.now() - 1 }), (why) => ended.push(why));
  await assert.rejects(expired.get("/v1/me/accounts"), SessionEnded);
  const signedOut = createApi(config, () => null, (why) => ended.push(why));
  await assert.rejects(signedOut.get("/v1/me/accounts"), SessionEnded);
  assert.deepEqual(ended, ["refused", "expired", "expired"]);
  assert.equal(calls.length, 1); // only the first reached the gateway
});

// The customer portal: sign-in, then the customer's own data through the gateway's
// customer API (docs/customer-api.md), each card handling what an app must: Retry-After,
// a stale answer, Opower down, a refusal with its message.

import { ApiError, SessionEnded, createApi, listOf } from "./api.js";
import { SignInError, beginSignIn, completeSignIn, discover, forgetCallback, isCallback, signOutUrl } from "./auth.js";
import { drawBars, round } from "./chart.js";

const $ = (selector, root = document) => root.querySelector(selector);
const FUEL_OF_METER = { ELEC: "ELECTRICITY", GAS: "GAS" };
const FUEL_NAMES = { ELECTRICITY: "Electricity", GAS: "Gas", ELEC: "Electricity", COMBINED: "Both fuels" };
const UNITS = { KWH: "kWh", THERM: "therms", CCF: "ccf", MCF: "mcf", WH: "Wh" };
// Get Utility Account List's resolution, in minutes (as lambdas/gateway/auth/binding.py):
// an unknown one counts as a minute, so that no window passes Opower's 100 intervals.
const RESOLUTION_MINUTES = { MINUTE: 1, FIVE_MINUTE: 5, QUARTER_HOUR: 15, HALF_HOUR: 30, HOUR: 60, DAY: 1440 };
const RAW_INTERVALS = 100;
const TIP_STATUSES = [
  ["NOT_YET", "Not yet"],
  ["WILL_DO", "I'll do it"],
  ["DONE", "Done"],
  ["NO_THANKS", "No thanks"],
];
// Create NotificationPreference's channels, as a customer would read them.
const FALLBACK_PROBLEMS = {
  0: "The portal could not reach your utility's energy service.",
  502: "Your utility's energy service did not answer.",
  503: "Your utility's energy service is unavailable for now.",
  504: "Your utility's energy service took too long to answer.",
};
const CHANNELS = [["EMAIL", "E-mail"], ["SMS", "Text message"], ["IVR", "Voice call"], ["PRINT", "Post"], ["PUSH", "App notification"]];
const CHANNEL_NAMES = Object.fromEntries(CHANNELS);

let config = null;
let discovery = null;
let session = null; // {token, expiresAt, name}: in memory only
let sessionTimer = null;
let accounts = [];
let forecastData = null;
const dailyIntervals = new Map(); // "fuel date" -> {start, end} of a day, as the meter keeps it
const retryTimers = new Map();

const api = () => createApi(config, () => session, endSession);

// ---------------------------------------------------------------- start
async function start() {
  const params = new URLSearchParams(location.search);
  const returning = isCallback(params);
  if (returning) forgetCallback(); // the code leaves the address bar whatever happens next
  try {
    const answer = await fetch("config.json", { cache: "no-store" });
    if (!answer.ok) throw new Error(`config.json answered ${answer.status}`);
    config = await answer.json();
    if (!config.clientId) throw new Error("config.json names no clientId for the sign-in");
    discovery = await discover(config.issuer);
  } catch (error) {
    return showSignIn(error instanceof SignInError ? error.message : `The portal is not configured: ${error.message}.`, false);
  }
  if (!returning) return showSignIn("");
  try {
    session = await completeSignIn(config, discovery, params);
  } catch (error) {
    return showSignIn(error instanceof SignInError ? error.message : "Sign-in failed. Sign in again.");
  }
  clearTimeout(sessionTimer);
  // setTimeout counts at most 2^31 - 1 ms (24.8 days); a session is far shorter.
  sessionTimer = setTimeout(() => endSession("expired"), Math.min(session.expiresAt - Date.now(), 2 ** 31 - 1));
  showDashboard();
}

function show(id) {
  for (const section of ["starting", "signin", "blocked", "dashboard"]) $(`#${section}`).hidden = section !== id;
  $("#who").hidden = id !== "dashboard" && id !== "blocked";
}

// With a reason (the session ended, a sign-in failed), the button takes the focus: the
// customer's next step. A first visit leaves the focus where the browser puts it.
function showSignIn(reason, canSignIn = true) {
  show("signin");
  $("#signin-reason").textContent = reason;
  $("#sign-in").hidden = !canSignIn;
  if (reason && canSignIn) $("#sign-in").focus();
}

// The session is over: forget it, stop every pending retry, back to sign-in.
function endSession(why) {
  if (!session) return;
  session = null;
  clearTimeout(sessionTimer);
  for (const timer of retryTimers.values()) clearInterval(timer);
  retryTimers.clear();
  const reasons = {
    expired: "Your session has ended. Sign in again to continue.",
    refused: "Your session is no longer valid. Sign in again to continue.",
    signedOut: "You have signed out.",
  };
  showSignIn(reasons[why] || reasons.expired);
}

function showBlocked(message) {
  show("blocked");
  $("#blocked-message").textContent = message;
  $("#account").disabled = true;
  $("#blocked-title").focus();
}

// ---------------------------------------------------------------- each card's state
function formatTime(date) {
  const sameDay = date.toDateString() === new Date().toDateString();
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return sameDay ? time : `${date.toLocaleDateString()} ${time}`;
}

// A card's status line. Only what needs the customer's attention is announced (a problem,
// a wait, a stale answer): "Loading…" and "As of …" of six cards at once would not be.
function setStatus(card, kind, text, action) {
  const status = $(".status", card);
  status.className = `status${kind ? ` ${kind}` : ""}`;
  status.setAttribute("aria-live", kind ? "polite" : "off");
  status.textContent = text;
  if (action) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = action.label;
    button.addEventListener("click", () => {
      $("h2", card).focus(); // the button goes with the status it is in: focus stays near
      action.run();
    });
    status.append(button);
  }
}

function showFreshness(card, freshness) {
  if (!freshness) return setStatus(card, "", "");
  const when = formatTime(freshness.asOf);
  if (freshness.stale) {
    const why = freshness.detail === "budget-spent" || freshness.detail === "customer-limited"
      ? "Your utility has reached today's limit of updates"
      : "Your utility's energy service didn't answer just now";
    return setStatus(card, "stale", `${why}, so this is your data as of ${when}.`);
  }
  setStatus(card, "", `As of ${when}.`);
}

function withRequestId(error, text) {
  return error.requestId ? `${text} (Reference: ${error.requestId})` : text;
}

// What a card says and does when its call fails; `retry` loads it again.
function showProblem(card, error, retry, notFound) {
  if (error instanceof SessionEnded) return;
  if (!(error instanceof ApiError)) {
    console.error(error); // a defect of the page's own: for its developers, not the customer
    setStatus(card, "problem", "Something went wrong showing this.", { label: "Try again", run: retry });
    return;
  }
  if (error.status === 403 && error.code === "not_designated") return showBlocked(error.message);
  if (error.status === 404 && notFound) {
    $(".body", card).replaceChildren(paragraph(notFound));
    return setStatus(card, "", "");
  }
  if (error.retryAfter !== null && (error.status === 429 || error.status === 503)) {
    return countDown(card, error, retry);
  }
  if ([0, 502, 503, 504].includes(error.status)) {
    // the gateway's own words are for the utility's developers (the reference finds them)
    const lead = FALLBACK_PROBLEMS[error.status] || error.message;
    return setStatus(card, "problem", withRequestId(error, `${lead} Your data will be back when it answers.`), {
      label: "Try again",
      run: retry,
    });
  }
  setStatus(card, "problem", withRequestId(error, error.message), { label: "Try again", run: retry });
}

// Retry-After: say how long, count it down, then ask again by itself, at most
// AUTO_RETRIES times in a row (then the customer asks); never sooner than a second.
const AUTO_RETRIES = 5;
const autoRetries = new WeakMap();
function countDown(card, error, retry) {
  clearInterval(retryTimers.get(card));
  const lead = error.status === 429 ? "Too many requests right now" : "Your utility's energy service is busy";
  const tries = (autoRetries.get(card) || 0) + 1;
  if (tries > AUTO_RETRIES) {
    autoRetries.delete(card);
    return setStatus(card, "waiting", withRequestId(error, `${lead}.`), { label: "Try again", run: retry });
  }
  autoRetries.set(card, tries);
  const until = Date.now() + Math.max(error.retryAfter, 1) * 1000;
  // The live region announces the message once; the seconds change silently beside it.
  setStatus(card, "waiting", `${lead}. Trying again `);
  const status = $(".status", card);
  status.dataset.retryAfter = String(error.retryAfter);
  const left = document.createElement("span");
  left.setAttribute("aria-hidden", "true");
  status.append(left, ".");
  const tick = () => {
    const seconds = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    if (seconds === 0) {
      clearInterval(retryTimers.get(card));
      retryTimers.delete(card);
      return retry();
    }
    left.textContent = seconds >= 120 ? `after ${formatTime(new Date(until))}` : `in ${seconds} s`;
  };
  tick();
  retryTimers.set(card, setInterval(tick, 1000));
}

// One call (or a few) behind a card. A newer load of the same card supersedes an older
// one still on its way: the older one's answer is dropped, whenever it comes.
const generations = new WeakMap();
async function load(card, fetch, render, notFound) {
  const retry = () => load(card, fetch, render, notFound);
  const generation = (generations.get(card) || 0) + 1;
  generations.set(card, generation);
  const current = () => generations.get(card) === generation && session !== null;
  clearInterval(retryTimers.get(card));
  retryTimers.delete(card);
  card.setAttribute("aria-busy", "true");
  setStatus(card, "", "Loading…");
  try {
    const freshness = await fetch();
    if (!current()) return false;
    autoRetries.delete(card);
    render();
    if (current()) showFreshness(card, freshness); // (unless render started a newer load)
    return true;
  } catch (error) {
    if (current()) showProblem(card, error, retry, notFound);
    return false;
  } finally {
    if (current()) card.removeAttribute("aria-busy");
  }
}

// ---------------------------------------------------------------- small DOM helpers
function paragraph(text, className = "") {
  const p = document.createElement("p");
  p.textContent = text;
  if (className) p.className = className;
  return p;
}

function facts(pairs) {
  const list = document.createElement("dl");
  list.className = "facts";
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === "") continue;
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }
  return list;
}

function money(symbol, value) {
  if (typeof value !== "number") return "";
  const sign = value < 0 ? "−" : "";
  return `${sign}${symbol || ""}${Math.abs(value).toFixed(2)}`;
}

function signedMoney(symbol, value) {
  return value > 0 ? `+${money(symbol, value)}` : money(symbol, value);
}

function unitName(unit) {
  return UNITS[String(unit || "").toUpperCase()] || String(unit || "").toLowerCase();
}

function titleCase(code) {
  const text = String(code || "").replace(/_/g, " ").toLowerCase();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// Tip bodies are HTML from Opower: only these elements are kept, with no attribute.
const KEPT = new Set(["P", "UL", "OL", "LI", "STRONG", "EM", "B", "I", "BR"]);
function sanitized(html) {
  const parsed = new DOMParser().parseFromString(String(html || ""), "text/html");
  const copy = (from, to) => {
    for (const child of from.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) to.append(child.textContent);
      else if (child.nodeType === Node.ELEMENT_NODE) {
        const name = child.localName.toUpperCase();
        // script and style hold no text to show, in HTML, SVG or MathML alike
        if (["SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT"].includes(name)) continue;
        const html = child.namespaceURI === "http://www.w3.org/1999/xhtml";
        const kept = html && KEPT.has(name) ? document.createElement(name) : document.createDocumentFragment();
        copy(child, kept);
        to.append(kept);
      }
    }
  };
  const holder = document.createElement("div");
  holder.className = "tip-body";
  copy(parsed.body, holder);
  return holder;
}

// ---------------------------------------------------------------- dates
function isoDate(date) {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")}`;
}

function addDays(text, days) {
  const [y, m, d] = text.split("-").map(Number);
  const date = new Date(2000, 0, 1);
  date.setFullYear(y, m - 1, d + days); // (new Date(y, ...) reads a year below 100 as 19xx)
  return isoDate(date);
}

// A day the usage card may ask about: a whole date, from 2000 to yesterday.
function usableDay(text) {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && text >= "2000-01-01" && text <= addDays(isoDate(new Date()), -1);
}

// ---------------------------------------------------------------- the dashboard
function showDashboard() {
  show("dashboard");
  $("#customer-name").textContent = session.name;
  $("#account").disabled = false;
  $("#day").value = addDays(isoDate(new Date()), -1);
  $("#day").max = addDays(isoDate(new Date()), -1); // today's reads are not all in yet
  $("#day").min = "2000-01-01";
  $("#main").focus({ preventScroll: true });
  loadAccounts();
}

async function loadAccounts() {
  const card = $("#usage");
  await load(card, async () => {
    const answer = await api().get("/v1/me/accounts");
    accounts = listOf(answer.data);
    return answer.freshness;
  }, () => {
    const select = $("#account");
    select.replaceChildren(...accounts.map((account) => {
      const option = document.createElement("option");
      option.value = String(account.id);
      const fuel = FUEL_NAMES[account.meterType] || titleCase(account.meterType);
      option.textContent = `${account.utilityAccountId} · ${fuel}${account.utilityAccountId2 ? ` (${account.utilityAccountId2})` : ""}`;
      return option;
    }));
    const fuels = [...new Set(accounts.map((a) => FUEL_OF_METER[a.meterType]).filter(Boolean))];
    $("#fuel").replaceChildren(...fuels.map((fuel) => new Option(FUEL_NAMES[fuel], fuel)));
    // A customer with no account yet sees that, and no empty cards.
    for (const other of ["bill", "forecast", "neighbors", "tips", "settings"]) $(`#${other}`).hidden = !accounts.length;
    $("#usage-controls").hidden = !accounts.length;
    if (!accounts.length) {
      $(".body", card).replaceChildren(paragraph("Your utility lists no account for you yet."));
      return;
    }
    // Each card then loads on its own: one that fails says so and retries by itself.
    loadUsage();
    loadAccountCards();
    loadCard("forecast", "/v1/me/bill-forecast", (body, data) => {
      forecastData = data;
      renderForecast(body, data);
    }, "No forecast for your current bill yet.");
    loadCard("neighbors", "/v1/me/neighbor-comparison", renderNeighbors, "No neighbor comparison for your home yet.");
    loadCard("tips", "/v1/me/tips?limit=5", renderTips, "No tips for your home yet.");
    loadSettings();
  });
}

function loadCard(id, path, render, notFound) {
  const card = $(`#${id}`);
  let answer = null;
  return load(card, async () => {
    answer = await api().get(path);
    return answer.freshness;
  }, () => render($(".body", card), answer.data), notFound);
}

function selectedAccount() {
  return accounts.find((a) => String(a.id) === $("#account").value) || accounts[0];
}

function loadAccountCards() {
  const account = selectedAccount();
  if (!account) return;
  const comparison = $("#compare-with").value;
  loadCard(
    "bill",
    `/v1/me/accounts/${encodeURIComponent(account.id)}/bill-comparison?comparisonBill=${comparison}`,
    renderBill,
    "No bills to compare for this account yet.",
  );
}

// ---------------------------------------------------------------- usage
function usageState() {
  const form = $("#usage-controls");
  return { view: form.elements.view.value, fuel: $("#fuel").value, day: $("#day").value };
}

function rawWindows(fuel, day) {
  // The finest interval among the customer's meters of the fuel: a window holds at most
  // 100 of them (Get Raw Interval Usage), so a day of a five-minute meter is three calls.
  // As the gateway counts them (lambdas/gateway/auth/binding.py raw_minutes): accounts
  // still active, meters that have intervals at all.
  const today = isoDate(new Date());
  const minutes = Math.min(
    ...accounts
      .filter((a) => FUEL_OF_METER[a.meterType] === fuel)
      .filter((a) => !(typeof a.moveOutDate === "string" && a.moveOutDate.slice(0, 10) < today))
      .filter((a) => !["MONTH", "BILLING"].includes(a.resolution))
      .map((a) => RESOLUTION_MINUTES[a.resolution] || 1),
  );
  const known = dailyIntervals.get(`${fuel} ${day}`);
  if (!Number.isFinite(minutes) || minutes * RAW_INTERVALS >= 25 * 60) return [[day, addDays(day, 1)]];
  if (!known) return []; // no daily read for the day, so no edges to cut it at: nothing to ask
  const windows = [];
  const end = Date.parse(known.end);
  for (let at = Date.parse(known.start); at < end; at += minutes * RAW_INTERVALS * 60000) {
    const until = Math.min(at + minutes * RAW_INTERVALS * 60000, end);
    windows.push([new Date(at).toISOString().replace(".000Z", "Z"), new Date(until).toISOString().replace(".000Z", "Z")]);
  }
  return windows;
}

async function fetchUsage({ view, fuel, day }) {
  if (view === "month") {
    const end = isoDate(new Date());
    const answer = await api().get(`/v1/me/usage/day/${fuel}?start=${addDays(end, -30)}&end=${end}`);
    return { answers: [answer], freshness: answer.freshness };
  }
  if (!dailyIntervals.has(`${fuel} ${day}`)) {
    // the day's edges where the meter is (a daylight-saving day has 23 or 25 hours)
    const edges = await api().get(`/v1/me/usage/day/${fuel}?start=${day}&end=${addDays(day, 1)}`);
    rememberDays(fuel, edges.data);
  }
  const answers = [];
  for (const [start, end] of rawWindows(fuel, day)) {
    answers.push(await api().get(`/v1/me/usage/raw/${fuel}?start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}`));
  }
  return { answers, freshness: answers.length ? answers[answers.length - 1].freshness : null };
}

function rememberDays(fuel, data) {
  for (const stream of (data && data.response && data.response.streams) || []) {
    for (const interval of stream.intervals || []) {
      if (interval.start && interval.end) {
        dailyIntervals.set(`${fuel} ${interval.start.slice(0, 10)}`, { start: interval.start, end: interval.end });
      }
    }
  }
}

// One series per service point; a bar per day (month) or per hour of the meter's day.
function usageSeries(answers, view) {
  const buckets = new Map(); // key -> {label, at}
  const series = new Map(); // service point -> Map(key -> usage)
  let unit = "";
  for (const answer of answers) {
    const response = (answer.data && answer.data.response) || {};
    unit = unit || unitName(response.unit);
    for (const stream of response.streams || []) {
      const name = stream.utilityServicePointId || "Meter";
      if (!series.has(name)) series.set(name, new Map());
      for (const interval of stream.intervals || []) {
        if (typeof interval.usage !== "number" || !interval.start) continue;
        const key = view === "month" ? interval.start.slice(0, 10) : interval.start.slice(0, 13) + interval.start.slice(19);
        const label = view === "month" ? interval.start.slice(5, 10) : `${interval.start.slice(11, 13)}:00`;
        if (!buckets.has(key)) buckets.set(key, { label, at: Date.parse(interval.start) || 0 });
        const values = series.get(name);
        values.set(key, (values.get(key) || 0) + interval.usage);
      }
    }
  }
  const keys = [...buckets.keys()].sort((a, b) => buckets.get(a).at - buckets.get(b).at);
  const labels = keys.map((key) => buckets.get(key).label);
  // an hour that comes twice (the clocks going back) is told apart by its offset, both times
  const count = new Map();
  for (const label of labels) count.set(label, (count.get(label) || 0) + 1);
  keys.forEach((key, i) => {
    if (count.get(labels[i]) > 1) labels[i] = `${labels[i]} (${key.slice(13)})`;
  });
  return {
    labels,
    series: [...series.entries()].map(([name, values]) => ({ name, values: keys.map((k) => (values.has(k) ? values.get(k) : null)) })),
    unit,
  };
}

async function loadUsage() {
  const card = $("#usage");
  const state = usageState();
  $("#day-field").hidden = state.view !== "day";
  if (!state.fuel) return;
  if (state.view === "day" && !usableDay(state.day)) {
    return setStatus(card, "problem", `Choose a day from 2000-01-01 to ${$("#day").max}.`);
  }
  let result = null;
  await load(card, async () => {
    result = await fetchUsage(state);
    if (state.view === "month") rememberDays(state.fuel, result.answers[0].data);
    return result.freshness;
  }, () => {
    const { labels, series, unit } = usageSeries(result.answers, state.view);
    const fuel = FUEL_NAMES[state.fuel];
    const what = state.view === "month" ? `${fuel} use per day, last 30 days` : `${fuel} use per hour on ${state.day}`;
    const total = round(series.reduce((sum, s) => sum + s.values.reduce((a, v) => a + (v || 0), 0), 0));
    const caption = labels.length
      ? `${what}: ${total} ${unit} in all, ${series.length} service point${series.length === 1 ? "" : "s"}.`
      : `${what}: no reads for this period.`;
    $("#chart-caption").textContent = caption;
    drawBars($("#chart"), $("#usage-table"), { labels, series, unit, caption: what });
    $("#legend").replaceChildren(...series.map((s, k) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = `swatch s${k % 4}`;
      item.append(swatch, `Service point ${s.name}`);
      return item;
    }));
  });
}

// ---------------------------------------------------------------- bills
function renderBill(body, data) {
  const answer = (data && data.response) || {};
  const symbol = answer.currencySymbol || "";
  const unit = unitName(answer.meterUnit);
  const period = (bill) => (bill && bill.startDate ? `${bill.startDate} to ${bill.endDate || "…"}` : "");
  const line = (bill) => (bill ? `${money(symbol, bill.charges)} for ${round(bill.usage ?? 0)} ${unit}` : "");
  const parts = [];
  const { reference, compared } = answer;
  if (reference) {
    parts.push(facts([
      [`This bill (${period(reference)})`, line(reference)],
      [compared ? `Compared bill (${period(compared)})` : "Compared bill", compared ? line(compared) : "none"],
    ]));
  }
  if (reference && compared && typeof reference.charges === "number" && typeof compared.charges === "number") {
    const difference = reference.charges - compared.charges;
    parts.push(paragraph(`${difference >= 0 ? "Up" : "Down"} ${money(symbol, Math.abs(difference))}. What explains it:`));
  }
  const results = [].concat(answer.analysisResults || []);
  if (results.length) {
    const list = document.createElement("ul");
    list.className = "explain";
    for (const result of results) {
      const item = document.createElement("li");
      item.textContent = `${titleCase(result.analysisName)}: ${signedMoney(symbol, result.costDifferenceExplained)}`;
      list.append(item);
    }
    parts.push(list);
  }
  const failure = data && (data.failureExplanation || answer.failureExplanation);
  if (failure) parts.push(paragraph(`No full comparison: ${titleCase(failure)}.`, "note"));
  body.replaceChildren(...(parts.length ? parts : [paragraph("No bills to compare for this account yet.")]));
}

function renderForecast(body, data) {
  const answer = (data && data.response) || {};
  const forecasts = [].concat(answer.forecasts || []);
  if (!forecasts.length) return body.replaceChildren(paragraph("No forecast for your current bill yet."));
  const selected = selectedAccount();
  const list = document.createElement("ul");
  list.className = "explain";
  for (const forecast of forecasts) {
    const item = document.createElement("li");
    const unit = unitName(forecast.unit);
    const fuel = FUEL_NAMES[forecast.fuelType] || titleCase(forecast.fuelType);
    const cost = typeof forecast.projectedCost === "number"
      ? `${money(answer.currencySymbol, forecast.projectedCost)} expected (${money(answer.currencySymbol, forecast.costToDate)} so far)`
      : `${round(forecast.projectedUsage ?? 0)} ${unit} expected (${round(forecast.usageToDate ?? 0)} so far)`;
    const period = forecast.billPeriodEnd ? ` by ${forecast.billPeriodEnd}` : "";
    item.textContent = `${fuel}, account ${forecast.utilityAccountId ?? forecast.accountId}: ${cost}${period}`;
    if (selected && String(forecast.accountId) === String(selected.id)) {
      item.className = "selected"; // the account chosen in the header
      item.setAttribute("aria-current", "true");
    }
    list.append(item);
  }
  body.replaceChildren(list);
}

function renderNeighbors(body, data) {
  const answer = (data && data.response) || {};
  const parts = [];
  for (const fuel of ["ELEC", "GAS", "COMBINED"]) {
    const comparison = answer[fuel];
    if (!comparison || typeof comparison.you !== "number") continue;
    const heading = document.createElement("h3");
    heading.textContent = `${FUEL_NAMES[fuel]} (${comparison.startDate} to ${comparison.endDate})`;
    parts.push(heading);
    const max = Math.max(comparison.you, comparison.neighbors || 0, comparison.efficientNeighbors || 0, 1);
    for (const [label, value, you] of [
      ["You", comparison.you, true],
      [`Neighbors (${comparison.numNeighbors ?? "–"})`, comparison.neighbors, false],
      [`Efficient neighbors (${comparison.numEfficientNeighbors ?? "–"})`, comparison.efficientNeighbors, false],
    ]) {
      if (typeof value !== "number") continue;
      const row = document.createElement("div");
      row.className = "meter";
      const name = document.createElement("span");
      name.textContent = label;
      const track = document.createElement("span");
      const fill = document.createElement("span");
      fill.className = `fill${you ? " you" : ""}`;
      fill.style.display = "block";
      fill.style.width = `${(value / max) * 100}%`;
      track.append(fill);
      const number = document.createElement("span");
      number.textContent = String(round(value));
      row.append(name, track, number);
      parts.push(row);
    }
    if (comparison.neighbors) {
      const share = Math.round(((comparison.you - comparison.neighbors) / comparison.neighbors) * 100);
      parts.push(paragraph(share >= 0 ? `You used ${share}% more than your neighbors.` : `You used ${-share}% less than your neighbors.`, "note"));
    }
  }
  body.replaceChildren(...(parts.length ? parts : [paragraph("No neighbor comparison for your home yet.")]));
}

function renderTips(body, data) {
  const tips = listOf(data);
  if (!tips.length) return body.replaceChildren(paragraph("No tips for your home yet."));
  const list = document.createElement("ul");
  list.className = "tips";
  tips.forEach((tip, index) => {
    const item = document.createElement("li");
    const title = document.createElement("h3");
    title.textContent = tip.title || tip.tipName;
    const choice = document.createElement("label");
    const select = document.createElement("select");
    select.id = `tip-${index}`;
    for (const [value, label] of TIP_STATUSES) select.append(new Option(label, value, false, value === (tip.status || "NOT_YET")));
    const saved = document.createElement("p");
    saved.className = "note";
    saved.setAttribute("role", "status");
    choice.append(`Your plan for “${tip.title || tip.tipName}”`, select);
    select.addEventListener("change", () => setTipStatus(tip, select, saved));
    item.append(title, sanitized(tip.shortBody), choice, saved);
    list.append(item);
  });
  body.replaceChildren(list);
}

async function setTipStatus(tip, select, saved) {
  const path = `/v1/me/tips/${encodeURIComponent(tip.tipName)}/action`;
  select.disabled = true;
  saved.textContent = "Saving…";
  try {
    if (select.value === "NOT_YET") await api().remove(path);
    else await api().post(path, { status: select.value });
    tip.status = select.value;
    saved.textContent = "Saved.";
  } catch (error) {
    if (error instanceof SessionEnded) return;
    select.value = tip.status || "NOT_YET";
    saved.textContent = notSaved(error);
  } finally {
    select.disabled = false;
  }
}

// ---------------------------------------------------------------- settings
let threshold = null;
let contacts = [];
const preferences = new Map();

function loadSettings() {
  const card = $("#settings");
  return load(card, async () => {
    let freshness = null;
    try {
      const answer = await api().get("/v1/me/threshold");
      threshold = (answer.data && answer.data.response) || null;
      freshness = answer.freshness;
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      threshold = null; // none set
    }
    const listed = await api().get("/v1/me/contacts");
    contacts = listOf(listed.data);
    for (const contact of contacts) {
      const answer = await api().get(`/v1/me/contacts/${encodeURIComponent(contact.id)}/preferences`);
      preferences.set(String(contact.id), listOf(answer.data));
    }
    return freshness || listed.freshness;
  }, renderSettings);
}

function renderSettings() {
  $("#threshold-current").textContent = threshold
    ? `Set: ${threshold.threshold} at ${threshold.percentage}%.`
    : "No high bill alert is set.";
  $("#threshold").value = threshold ? String(threshold.threshold) : "";
  $("#percentage").value = threshold ? String(threshold.percentage) : "";
  $("#threshold-clear").disabled = !threshold;
  $("#threshold-error").textContent = "";
  renderContacts();
}

function renderContacts() {
  const holder = $("#contacts .contacts-body");
  if (!contacts.length) return holder.replaceChildren(paragraph("No contact on file for alerts."));
  holder.replaceChildren(...contacts.map((contact) => {
    const block = document.createElement("div");
    block.className = "contact";
    const ways = [contact.email, contact.phoneSMS && `text ${contact.phoneSMS}`, contact.phoneVoice && `call ${contact.phoneVoice}`].filter(Boolean).join(", ");
    block.append(paragraph(`${contact.name || "Contact"}${contact.primary ? " (primary)" : ""}: ${ways || "no address"}`));
    const list = document.createElement("ul");
    list.className = "prefs";
    list.id = `contact-prefs-${contact.id}`;
    list.tabIndex = -1; // where the focus goes once a change is saved and the list is new
    list.setAttribute("aria-label", `Alerts for ${contact.name || "contact"}`);
    const prefs = preferences.get(String(contact.id)) || [];
    if (!prefs.length) list.append(Object.assign(document.createElement("li"), { textContent: "No alerts chosen." }));
    for (const preference of prefs) {
      const item = document.createElement("li");
      const what = `${titleCase(preference.eventType)} by ${CHANNEL_NAMES[preference.notificationChannel] || titleCase(preference.notificationChannel)}`;
      item.append(what);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove ${what} for ${contact.name || "contact"}`);
      remove.addEventListener("click", () => changePreference(
        contact,
        () => api().remove(`/v1/me/contacts/${encodeURIComponent(contact.id)}/preferences/${encodeURIComponent(preference.id)}`),
        () => `#contact-prefs-${contact.id}`,
      ));
      item.append(remove);
      list.append(item);
    }
    const add = document.createElement("form");
    add.className = "add-pref";
    const channel = document.createElement("select");
    channel.name = "channel";
    for (const [value, label] of CHANNELS) channel.append(new Option(label, value));
    const event = document.createElement("input");
    event.name = "eventType";
    event.value = "HOME_ENERGY";
    event.required = true;
    event.pattern = "[A-Z][A-Z0-9_]*"; // an upper-case programme code, as the gateway checks
    const channelLabel = document.createElement("label");
    channelLabel.append("Alert by", channel);
    const eventLabel = document.createElement("label");
    eventLabel.append("About (programme code)", event);
    const submit = document.createElement("button");
    submit.type = "submit";
    submit.textContent = "Add alert";
    submit.setAttribute("aria-label", `Add alert for ${contact.name || "contact"}`);
    const error = document.createElement("p");
    error.className = "error";
    error.id = `contact-error-${contact.id}`;
    error.setAttribute("role", "alert");
    add.append(channelLabel, eventLabel, submit);
    add.addEventListener("submit", (e) => {
      e.preventDefault();
      changePreference(
        contact,
        () => api().post(`/v1/me/contacts/${encodeURIComponent(contact.id)}/preferences`, {
          notificationChannel: channel.value,
          eventType: event.value.trim(),
        }),
        () => `#contact-prefs-${contact.id}`,
      );
    });
    block.append(list, add, error);
    return block;
  }));
}

// Why a change was not saved, in the customer's words: nothing is retried by itself (a
// write is the customer's to repeat), and a wait the gateway names is said.
function notSaved(problem) {
  if (!(problem instanceof ApiError)) {
    console.error(problem);
    return "Not saved: something went wrong on this page.";
  }
  if (problem.retryAfter !== null && (problem.status === 429 || problem.status === 503)) {
    return withRequestId(problem, `Not saved: too many requests right now. Try again in ${Math.max(problem.retryAfter, 1)} s.`);
  }
  const lead = FALLBACK_PROBLEMS[problem.status];
  return withRequestId(problem, `Not saved: ${lead || problem.message}`);
}

async function changePreference(contact, change, focusAfter) {
  const card = $("#settings");
  const error = $(`#contact-error-${contact.id}`);
  error.textContent = "";
  try {
    await change();
  } catch (problem) {
    if (!(problem instanceof SessionEnded)) error.textContent = notSaved(problem);
    return;
  }
  try {
    const answer = await api().get(`/v1/me/contacts/${encodeURIComponent(contact.id)}/preferences`);
    preferences.set(String(contact.id), listOf(answer.data));
    renderContacts();
    setStatus(card, "", "Saved.");
    $(focusAfter(contact))?.focus();
  } catch (problem) {
    showProblem(card, problem, () => loadSettings());
  }
}

async function saveThreshold(event) {
  event.preventDefault();
  const error = $("#threshold-error");
  const read = (id) => ($(id).value.trim() === "" ? NaN : Number($(id).value));
  const body = { threshold: read("#threshold"), percentage: read("#percentage") };
  if (Number.isNaN(body.threshold) || Number.isNaN(body.percentage)) {
    error.textContent = "Enter both numbers.";
    return;
  }
  error.textContent = "";
  try {
    await api().put("/v1/me/threshold", body);
  } catch (problem) {
    if (problem instanceof SessionEnded) return;
    // a 400 is the gateway saying what to fix, next to the fields it is about
    error.textContent = problem instanceof ApiError && problem.status === 400
      ? withRequestId(problem, problem.message)
      : notSaved(problem);
    return;
  }
  if (await loadSettings()) setStatus($("#settings"), "", "Alert saved.");
}

async function clearThreshold() {
  const error = $("#threshold-error");
  error.textContent = "";
  try {
    await api().remove("/v1/me/threshold");
  } catch (problem) {
    if (problem instanceof SessionEnded) return;
    if (!(problem instanceof ApiError && problem.status === 404)) {
      error.textContent = notSaved(problem); // (a 404: there was none to remove)
      return;
    }
  }
  if (await loadSettings()) setStatus($("#settings"), "", "Alert removed.");
}

// ---------------------------------------------------------------- wiring
$("#sign-in").addEventListener("click", async () => {
  $("#sign-in").disabled = true;
  try {
    await beginSignIn(config, discovery);
  } finally {
    $("#sign-in").disabled = false;
  }
});
$("#sign-out").addEventListener("click", () => {
  const leave = signOutUrl(config, discovery);
  endSession("signedOut");
  if (leave) location.assign(leave);
});
$("#account").addEventListener("change", () => {
  loadAccountCards();
  if (forecastData) renderForecast($(".body", $("#forecast")), forecastData);
});
$("#compare-with").addEventListener("change", loadAccountCards);
// A typed date changes at each keystroke: the call waits until the typing stops.
let usageTimer = null;
$("#usage-controls").addEventListener("change", (event) => {
  clearTimeout(usageTimer);
  usageTimer = setTimeout(loadUsage, event.target.id === "day" ? 500 : 0);
});
$("#usage-controls").addEventListener("submit", (event) => event.preventDefault());
$("#threshold-form").addEventListener("submit", saveThreshold);
$("#threshold-clear").addEventListener("click", clearThreshold);

start();

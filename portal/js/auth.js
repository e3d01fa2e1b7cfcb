// Sign-in: OpenID Connect's authorization code flow with PKCE (RFC 7636, S256), as a
// public client. The session token lives in this page's memory only: never in storage,
// a cookie or the address bar. What must survive the trip to the identity provider
// (state, nonce, the PKCE verifier) is kept in sessionStorage until the page comes back,
// then removed.

const PENDING = "opower-portal.sign-in";

const CLOCK_SKEW_MS = 300_000;

export class SignInError extends Error {}

export async function discover(issuer) {
  let answer;
  try {
    answer = await fetch(`${issuer}/.well-known/openid-configuration`);
  } catch {
    throw new SignInError("The sign-in service could not be reached. Try again in a moment.");
  }
  if (!answer.ok) {
    throw new SignInError(`The sign-in service answered ${answer.status}. Try again in a moment.`);
  }
  const document = await answer.json();
  // OIDC Discovery 4.3: the issuer in the document is the one asked for, exactly.
  if (document.issuer !== issuer) {
    throw new SignInError("The sign-in service names another issuer than the portal's: check config.json.");
  }
  return document;
}

function base64url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(bytes) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function s256(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

// Where the identity provider sends the customer back: this page, as registered there.
export function redirectUri() {
  return location.origin + location.pathname;
}

export async function beginSignIn(config, discovery) {
  const pending = { state: randomText(16), nonce: randomText(16), verifier: randomText(48) };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(discovery.authorization_endpoint);
  const params = {
    ...(config.authorizationParams || {}),
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: config.scope || "openid",
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await s256(pending.verifier),
    code_challenge_method: "S256",
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  location.assign(url.toString());
}

// Whether this page load is the identity provider sending the customer back.
export function isCallback(params) {
  return params.has("code") || params.has("error");
}

function claimsOf(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch {
    return null;
  }
}

// What the page says for each error the identity provider sends back (RFC 6749 4.1.2.1).
// Its error_description is not shown: anyone can link to the page with one.
const SIGN_IN_ERRORS = {
  access_denied: "Sign-in was cancelled.",
  login_required: "Sign in to continue.",
  temporarily_unavailable: "The sign-in service is busy. Try again in a moment.",
  server_error: "The sign-in service had a problem. Try again in a moment.",
};

// Forget the address the identity provider sent the customer back to (its code, state),
// in the address bar and in history. Called on every return, whatever happens next.
export function forgetCallback() {
  history.replaceState(null, "", redirectUri());
}

// The ID token as OIDC Core 3.1.3.7 has a client check it: it comes straight from the
// token endpoint over the connection the browser verified, which stands in for its
// signature; its issuer, audience, expiry and nonce are checked here.
function checkedIdentity(idToken, config, discovery, nonce) {
  const claims = idToken ? claimsOf(idToken) : null;
  if (!claims) throw new SignInError("The sign-in answer has no readable ID token. Sign in again.");
  const audiences = [].concat(claims.aud || []);
  if (claims.iss !== discovery.issuer || !audiences.includes(config.clientId)) {
    throw new SignInError("The sign-in answer was not meant for this portal. Sign in again.");
  }
  // five minutes' leeway for a device's clock, as OIDC client libraries allow
  if (typeof claims.exp !== "number" || claims.exp * 1000 + CLOCK_SKEW_MS < Date.now()) {
    throw new SignInError("The sign-in answer has expired. Sign in again.");
  }
  if (claims.nonce !== nonce) {
    throw new SignInError("The sign-in answer was not for this page. Sign in again.");
  }
  return claims;
}

// The code for the session, once the return is shown to be this page's own sign-in.
export async function completeSignIn(config, discovery, params) {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  if (!pending || params.get("state") !== pending.state) {
    // not this tab's sign-in (a link someone made, an old bookmark): nothing is spent
    throw new SignInError("That sign-in was not started from this page. Sign in again.");
  }
  sessionStorage.removeItem(PENDING);
  if (params.get("error")) {
    throw new SignInError(SIGN_IN_ERRORS[params.get("error")] || "The sign-in service refused the sign-in. Sign in again.");
  }
  let answer;
  try {
    answer = await fetch(discovery.token_endpoint, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: params.get("code") || "",
        redirect_uri: redirectUri(),
        client_id: config.clientId,
        code_verifier: pending.verifier,
      }),
    });
  } catch {
    throw new SignInError("The sign-in service could not be reached. Sign in again.");
  }
  const tokens = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    throw new SignInError(`The sign-in service refused: ${tokens.error_description || tokens.error || answer.status}. Sign in again.`);
  }
  const identity = checkedIdentity(tokens.id_token, config, discovery, pending.nonce);
  const token = tokens[config.sessionToken || "access_token"];
  if (!token) throw new SignInError(`The sign-in answer has no ${config.sessionToken || "access_token"}.`);
  const lifetime = Number(tokens.expires_in) > 0 ? Number(tokens.expires_in) : 3600;
  return { token, expiresAt: Date.now() + lifetime * 1000, name: identity.name || identity.preferred_username || "" };
}

// Signing out ends the session at the identity provider too where it offers that (OIDC
// RP-Initiated Logout), so that the next person at a shared computer signs in anew.
export function signOutUrl(config, discovery) {
  if (!discovery || !discovery.end_session_endpoint) return null;
  const url = new URL(discovery.end_session_endpoint);
  url.searchParams.set("client_id", config.clientId);
  url.searchParams.set("post_logout_redirect_uri", redirectUri());
  return url.toString();
}

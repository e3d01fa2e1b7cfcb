// Sign-in: OpenID Connect's authorization code flow with PKCE (RFC 7636, S256), as a
// public client. The session token lives in this page's memory only: never in storage,
// a cookie or the address bar. What must survive the trip to the identity provider
// (state, nonce, the PKCE verifier) is kept in sessionStorage until the page comes back,
// then removed.

const PENDING = "opower-portal.sign-in";

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

// The code for the session. The ID token comes straight from the token endpoint over
// the connection the browser checked (OIDC Core 3.1.3.7 lets TLS stand in for its
// signature then); the portal reads the customer's name and the nonce from it.
export async function completeSignIn(config, discovery, params) {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", redirectUri()); // the code leaves the address bar and history
  if (params.get("error")) {
    const why = params.get("error") === "access_denied"
      ? "Sign-in was cancelled."
      : `The sign-in service refused: ${params.get("error_description") || params.get("error")}.`;
    throw new SignInError(why);
  }
  if (!pending || params.get("state") !== pending.state) {
    throw new SignInError("That sign-in was not started from this page. Sign in again.");
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
  const identity = tokens.id_token ? claimsOf(tokens.id_token) : null;
  if (identity && identity.nonce !== pending.nonce) {
    throw new SignInError("The sign-in answer was not for this page (nonce). Sign in again.");
  }
  const token = tokens[config.sessionToken || "access_token"];
  if (!token) throw new SignInError(`The sign-in answer has no ${config.sessionToken || "access_token"}.`);
  const lifetime = Number(tokens.expires_in) > 0 ? Number(tokens.expires_in) : 3600;
  return { token, expiresAt: Date.now() + lifetime * 1000, name: (identity && identity.name) || "" };
}

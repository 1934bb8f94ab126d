// Log in with the JSON endpoint (it sets the session cookie), then go where we were headed.
// With two-step login on, a second form asks for the code; a server that requires two-step
// login sends people without one to the security page first. A passkey signs in alone.
import * as passkeys from "./passkeys.js";

const page = document.getElementById("login");
const form = document.getElementById("login-form");
const mfaForm = document.getElementById("mfa-form");
const error = document.getElementById("login-error");
const mfaError = document.getElementById("mfa-error");
let mfaToken = "";

function say(element, text) {
  element.textContent = text;
  element.classList.toggle("d-none", !text);
}

async function post(path, body, where) {
  try {
    return await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "include",
    });
  } catch {
    say(where, "Network error: is the server running?");
    return null;
  }
}

async function failure(response) {
  let detail = `Login failed (${response.status}).`;
  try { detail = (await response.json()).detail; } catch { /* not JSON */ }
  if (response.status === 429) {
    const wait = response.headers.get("Retry-After");
    detail = `Too many failed attempts. Try again in ${wait || "a few"} seconds.`;
  }
  return detail;
}

function signedIn(answer) {
  const next = page.dataset.next || "/";
  if (answer.mfa_enrol_required) {
    window.location.assign(`/account/security?next=${encodeURIComponent(next)}`);
  } else {
    window.location.assign(next);
  }
}

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(error, "");
  const body = { username: form.elements.username.value, password: form.elements.password.value };
  const response = await post("/api/auth/login", body, error);
  if (!response) return;
  if (!response.ok) {
    say(error, await failure(response));
    return;
  }
  const answer = await response.json();
  if (answer.mfa_required) {
    mfaToken = answer.mfa_token;
    form.classList.add("d-none");
    mfaForm.classList.remove("d-none");
    mfaForm.elements.code.focus();
    return;
  }
  signedIn(answer);
});

mfaForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(mfaError, "");
  const body = { mfa_token: mfaToken, code: mfaForm.elements.code.value.trim() };
  const response = await post("/api/auth/login/mfa", body, mfaError);
  if (!response) return;
  if (!response.ok) {
    say(mfaError, await failure(response));
    mfaForm.elements.code.select();
    return;
  }
  signedIn(await response.json());
});

const passkeyCard = document.getElementById("passkey-card");
const passkeyError = document.getElementById("passkey-error");
if (passkeys.supported) {
  passkeyCard.classList.remove("d-none");
  document.getElementById("passkey-button").addEventListener("click", async () => {
    say(passkeyError, "");
    let credential;
    try {
      credential = await passkeys.get("");
    } catch (err) {
      say(passkeyError, err.name === "NotAllowedError" ? "Cancelled." : `Passkey failed: ${err.message}`);
      return;
    }
    const response = await post("/api/auth/passkey", { credential }, passkeyError);
    if (!response) return;
    if (!response.ok) {
      say(passkeyError, await failure(response));
      return;
    }
    signedIn(await response.json());
  });
}

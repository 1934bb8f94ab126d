// Passkeys in the browser: the server's WebAuthn options (JSON) in, the credential (JSON) out.
export const supported = Boolean(window.PublicKeyCredential
  && PublicKeyCredential.parseCreationOptionsFromJSON
  && PublicKeyCredential.parseRequestOptionsFromJSON);

async function options(path) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "include",
    headers: csrfHeader(),
  });
  if (!response.ok) throw new Error(`the server refused (${response.status})`);
  return response.json();
}

function csrfHeader() {
  const match = document.cookie.match(/(?:^|;\s*)filebay_csrf=([^;]+)/);
  return match ? { "X-CSRF-Token": decodeURIComponent(match[1]) } : {};
}

/** A new passkey of the signed-in user: the credential to send to POST /api/me/passkeys. */
export async function create(base) {
  const json = await options(`${base}/api/me/passkeys/options`);
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(json);
  const credential = await navigator.credentials.create({ publicKey });
  return credential.toJSON();
}

/** A passkey's answer to a sign-in challenge, for POST /api/auth/passkey. */
export async function get(base) {
  const json = await options(`${base}/api/auth/passkey/options`);
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(json);
  const credential = await navigator.credentials.get({ publicKey });
  return credential.toJSON();
}

// The security page's passkeys: list, add (the browser's WebAuthn dialog), remove.
import { api, bases, describeError } from "./api.js";
import * as passkeys from "./passkeys.js";

const list = document.getElementById("passkey-list");
const none = document.getElementById("no-passkeys");
const form = document.getElementById("passkey-form");
const error = document.getElementById("passkey-error");

function row(passkey) {
  const item = document.createElement("li");
  item.className = "list-group-item d-flex align-items-center gap-2";
  const name = document.createElement("span");
  name.className = "me-auto passkey-name";
  name.textContent = passkey.name;
  const used = document.createElement("small");
  used.className = "text-body-secondary";
  used.textContent = passkey.last_used_at ? `last used ${passkey.last_used_at}` : "never used";
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "btn btn-sm btn-outline-danger";
  remove.textContent = "Remove";
  remove.setAttribute("aria-label", `Remove passkey ${passkey.name}`);
  remove.addEventListener("click", async () => {
    try {
      await api(bases.auth, `/api/me/passkeys/${encodeURIComponent(passkey.id)}`, { method: "DELETE" });
      await refresh();
    } catch (err) {
      error.textContent = describeError(err);
    }
  });
  item.append(name, used, remove);
  return item;
}

async function refresh() {
  const { items } = await api(bases.auth, "/api/me/passkeys");
  list.replaceChildren(...items.map(row));
  none.classList.toggle("d-none", items.length > 0);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  if (!passkeys.supported) {
    error.textContent = "This browser cannot use passkeys.";
    return;
  }
  try {
    const credential = await passkeys.create(bases.auth);
    const name = document.getElementById("passkey-name").value.trim();
    await api(bases.auth, "/api/me/passkeys", { method: "POST", json: { name, credential } });
    form.reset();
    await refresh();
  } catch (err) {
    error.textContent = err.name === "NotAllowedError" ? "Cancelled." : describeError(err);
  }
});

refresh().catch((err) => { error.textContent = describeError(err); });

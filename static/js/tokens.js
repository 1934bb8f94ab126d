// API tokens: list, create (the secret is shown once), revoke.
import { api, bases, describeError } from "./api.js";
import { exactTime, relativeTime } from "./format.js";
import { confirmDialog, copyText, h, icon, toast } from "./ui.js";

const form = document.getElementById("new-token-form");
const nameInput = document.getElementById("token-name");
const created = document.getElementById("new-token");
const value = document.getElementById("new-token-value");
const example = document.getElementById("token-example");
const errorLine = document.getElementById("token-error");
const table = document.getElementById("token-table");
const tbody = table.querySelector("tbody");
const none = document.getElementById("no-tokens");
const status = document.getElementById("tokens-status");

function when(iso) {
  if (!iso) return h("span", { class: "text-body-secondary" }, "never");
  const date = new Date(iso);
  return h("time", { datetime: iso, title: exactTime(date) }, relativeTime(date));
}

function row(token) {
  return h("tr", { "data-id": token.id },
    h("td", { class: "text-break" }, icon("bi-key", "text-body-secondary me-1"), token.name),
    h("td", { class: "text-nowrap d-none d-sm-table-cell" }, when(token.created_at)),
    h("td", { class: "text-nowrap" }, when(token.last_used_at)),
    h("td", { class: "text-end" },
      h("button", {
        class: "btn btn-sm btn-outline-danger",
        type: "button",
        "aria-label": `Revoke ${token.name}`,
        onclick: () => revoke(token),
      }, icon("bi-trash"), h("span", { class: "d-none d-sm-inline" }, " Revoke"))));
}

async function load() {
  try {
    const data = await api(bases.auth, "/api/tokens");
    tbody.replaceChildren(...data.items.map(row));
    table.classList.toggle("d-none", data.items.length === 0);
    none.classList.toggle("d-none", data.items.length !== 0);
    status.textContent = "";
  } catch (error) {
    status.textContent = `The tokens could not be loaded. ${describeError(error)}`;
  }
}

async function revoke(token) {
  const ok = await confirmDialog({
    title: "Revoke this token?",
    body: h("p", { class: "mb-0" }, "Scripts using “", h("strong", {}, token.name), "” will stop working at once."),
    confirmLabel: "Revoke",
  });
  if (!ok) return;
  try {
    await api(bases.auth, `/api/tokens/${encodeURIComponent(token.id)}`, { method: "DELETE" });
    toast(`Revoked “${token.name}”.`);
  } catch (error) {
    toast(describeError(error), { variant: "danger" });
  }
  load();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorLine.textContent = "";
  try {
    const token = await api(bases.auth, "/api/tokens", { method: "POST", json: { name: nameInput.value.trim() } });
    value.value = token.token;
    const site = bases.ui || window.location.origin;
    example.textContent = `curl -H "Authorization: Bearer ${token.token}" -T report.pdf ${site}/api/upload/`;
    created.classList.remove("d-none");
    nameInput.value = "";
    value.focus();
    value.select();
    load();
  } catch (error) {
    errorLine.textContent = describeError(error);
  }
});

document.getElementById("copy-token").addEventListener("click", async () => {
  if (await copyText(value.value)) toast("Token copied.");
  else toast("Select the token and copy it.", { variant: "danger" });
});

load();

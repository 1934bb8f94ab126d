// Admin user management: list, add, change role/quota, reset password, disable, delete,
// and each user's API tokens (list, revoke one, revoke all).
import { csrfHeaders } from "./session.js";

const table = document.querySelector("#user-table tbody");
const form = document.getElementById("new-user-form");
const status = document.getElementById("admin-status");
const tokenPanel = document.getElementById("token-panel");
const tokenTitle = document.getElementById("token-panel-title");
const tokenTable = document.querySelector("#user-token-table tbody");
const noTokens = document.getElementById("no-user-tokens");
let tokensOf = null;

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: csrfHeaders(body ? { "Content-Type": "application/json" } : {}),
    body: body ? JSON.stringify(body) : undefined,
    credentials: "include",
  });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail; } catch { /* not JSON */ }
    throw new Error(`${response.status}: ${detail}`);
  }
  return response.status === 204 ? null : response.json();
}

function button(label, cls, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = `btn btn-sm ${cls} ms-1`;
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

function mib(bytes) {
  return bytes === null ? "none" : `${Math.round(bytes / 1048576)} MiB`;
}

function quotaText(user) {
  const files = user.quota_files === null || user.quota_files === undefined ? "" : `, ${user.quota_files} files`;
  return `${mib(user.quota_bytes)}${files}`;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "never";
}

async function showTokens(username) {
  tokensOf = username;
  const base = `/api/users/${encodeURIComponent(username)}/tokens`;
  const data = await api("GET", base);
  tokenTitle.textContent = `API tokens of ${username}`;
  tokenTable.replaceChildren(...data.items.map((token) => {
    const tr = document.createElement("tr");
    for (const [label, text] of [["Name", token.name], ["Created", when(token.created_at)], ["Last used", when(token.last_used_at)]]) {
      const td = document.createElement("td");
      td.dataset.label = label;
      td.textContent = text;
      tr.append(td);
    }
    const td = document.createElement("td");
    td.className = "text-end actions";
    const revoke = button("Revoke", "btn-outline-danger", () =>
      act(api("DELETE", `${base}/${encodeURIComponent(token.id)}`), `Token ${token.name} revoked.`));
    revoke.setAttribute("aria-label", `Revoke ${token.name}`);
    td.append(revoke);
    tr.append(td);
    return tr;
  }));
  noTokens.hidden = data.items.length > 0;
  tokenPanel.hidden = false;
}

async function act(promise, done) {
  try {
    await promise;
    status.textContent = done;
    await load();
  } catch (e) {
    status.textContent = e.message;
  }
}

function row(user) {
  const tr = document.createElement("tr");
  tr.dataset.username = user.username;
  const cells = [["Username", user.username], ["Role", user.role], ["Quota", quotaText(user)],
    ["Status", user.disabled ? "disabled" : "active"]];
  for (const [label, text] of cells) {
    const td = document.createElement("td");
    if (label !== "Username") td.dataset.label = label;
    else td.className = "fw-semibold";
    td.textContent = text;
    tr.append(td);
  }
  const actions = document.createElement("td");
  actions.className = "text-end text-nowrap actions";
  const path = `/api/users/${encodeURIComponent(user.username)}`;
  actions.append(
    button(user.role === "admin" ? "Make user" : "Make admin", "btn-outline-secondary", () =>
      act(api("PATCH", path, { role: user.role === "admin" ? "user" : "admin" }), "Role changed.")),
    button("Quota", "btn-outline-secondary", () => {
      const value = window.prompt(`Quota for ${user.username} in MiB (empty: none)`, "");
      if (value === null) return;
      const quota = value.trim() === "" ? null : Math.round(Number(value) * 1048576);
      act(api("PATCH", path, { quota_bytes: quota }), "Quota changed.");
    }),
    button("File limit", "btn-outline-secondary", () => {
      const value = window.prompt(`How many files ${user.username} may hold (empty: any)`, "");
      if (value === null) return;
      const files = value.trim() === "" ? null : Math.round(Number(value));
      act(api("PATCH", path, { quota_files: files }), "File limit changed.");
    }),
    button("Tokens", "btn-outline-secondary", () =>
      showTokens(user.username).catch((e) => { status.textContent = e.message; })),
    button("Password", "btn-outline-secondary", () => {
      const value = window.prompt(
        `New password for ${user.username} (8 characters or more). ` +
        "This ends their sessions and API tokens.");
      if (value) {
        act(api("PATCH", path, { password: value }),
          `Password changed; ${user.username}'s sessions and API tokens are ended.`);
      }
    }),
    button(user.disabled ? "Enable" : "Disable", "btn-outline-warning", () => {
      if (user.disabled) {
        act(api("PATCH", path, { disabled: false }), "Status changed.");
      } else if (window.confirm(
        `Disable ${user.username}? Their sessions and API tokens end now, and their share links ` +
        "stop answering until the account is enabled again.")) {
        act(api("PATCH", path, { disabled: true }),
          `${user.username} disabled; sessions and API tokens ended.`);
      }
    }),
    button("Delete", "btn-outline-danger", () => {
      if (window.confirm(`Delete ${user.username} and all their files?`)) {
        act(api("DELETE", path), "User deleted.");
      }
    }),
  );
  tr.append(actions);
  return tr;
}

async function load() {
  const data = await api("GET", "/api/users");
  table.replaceChildren(...data.items.map(row));
  if (tokensOf !== null) {
    if (data.items.some((u) => u.username === tokensOf)) await showTokens(tokensOf);
    else { tokensOf = null; tokenPanel.hidden = true; }
  }
}

document.getElementById("revoke-all-tokens").addEventListener("click", () => {
  if (tokensOf !== null && window.confirm(`Revoke every API token of ${tokensOf}?`)) {
    act(api("DELETE", `/api/users/${encodeURIComponent(tokensOf)}/tokens`), `Every token of ${tokensOf} revoked.`);
  }
});
document.getElementById("close-token-panel").addEventListener("click", () => {
  tokensOf = null;
  tokenPanel.hidden = true;
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const quota = form.elements.quota.value;
  act(
    api("POST", "/api/users", {
      username: form.elements.username.value,
      password: form.elements.password.value,
      role: form.elements.role.value,
      quota_bytes: quota === "" ? null : Math.round(Number(quota) * 1048576),
    }),
    "User added.",
  ).then(() => form.reset());
});

load().catch((e) => { status.textContent = e.message; });

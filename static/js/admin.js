// Admin user management: list, add, change role/quota, reset password, disable, delete.
import { csrfHeaders } from "./session.js";

const table = document.querySelector("#user-table tbody");
const form = document.getElementById("new-user-form");
const status = document.getElementById("admin-status");

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
  for (const text of [user.username, user.role, mib(user.quota_bytes), user.disabled ? "disabled" : "active"]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  const actions = document.createElement("td");
  actions.className = "text-end text-nowrap";
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
    button("Password", "btn-outline-secondary", () => {
      const value = window.prompt(`New password for ${user.username} (8 characters or more)`);
      if (value) act(api("PATCH", path, { password: value }), "Password changed.");
    }),
    button(user.disabled ? "Enable" : "Disable", "btn-outline-warning", () =>
      act(api("PATCH", path, { disabled: !user.disabled }), "Status changed.")),
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
}

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

// Share links: the "Share…" row action, its dialog (create with expiry, password and a
// download limit; copy; list and revoke) and the "shared" state of a row.
import { api, bases, describeError } from "./api.js";
import { fileList, registerRowAction } from "./files.js";
import { exactTime, relativeTime } from "./format.js";
import { copyText, h, icon, toast } from "./ui.js";

const modalNode = document.getElementById("share-modal");
const form = document.getElementById("share-form");
const title = document.getElementById("share-title");
const created = document.getElementById("share-created");
const urlField = document.getElementById("share-url");
const copyButton = document.getElementById("share-copy");
const errorBox = document.getElementById("share-error");
const list = document.getElementById("share-list");
const none = document.getElementById("share-none");
let current = null;

function showError(message) {
  errorBox.textContent = message;
  errorBox.classList.toggle("d-none", !message);
}

function absolute(url) {
  return new URL(url, bases.download ? `${bases.download}/` : window.location.href).href;
}

function describe(share) {
  const parts = [];
  parts.push(share.expires_at ? `expires ${relativeTime(new Date(share.expires_at))}` : "never expires");
  if (share.max_downloads) parts.push(`${share.downloads} of ${share.max_downloads} downloads`);
  else parts.push(`${share.downloads} downloads`);
  if (share.has_password) parts.push("password");
  return parts.join(" · ");
}

async function refresh() {
  const data = await api(bases.metadata, `/api/files/${encodeURIComponent(current.id)}/shares`);
  const now = Date.now();
  const active = data.items.filter((s) => (!s.expires_at || new Date(s.expires_at) > now)
    && (!s.max_downloads || s.downloads < s.max_downloads));
  list.replaceChildren(...active.map((share) => h("li",
    { class: "list-group-item d-flex justify-content-between align-items-center gap-2", "data-share-id": share.id },
    h("span", { class: "small", title: share.expires_at ? exactTime(new Date(share.expires_at)) : "" },
      icon(share.has_password ? "bi-lock" : "bi-link-45deg"), " ", describe(share)),
    h("button", {
      class: "btn btn-sm btn-outline-danger share-revoke",
      type: "button",
      onclick: () => revoke(share.id),
    }, "Revoke"))));
  none.classList.toggle("d-none", active.length > 0);
  return active.length > 0;
}

async function revoke(shareId) {
  try {
    await api(bases.metadata, `/api/shares/${encodeURIComponent(shareId)}`, { method: "DELETE" });
    toast("Link revoked.");
    const stillShared = await refresh();
    fileList?.patch?.(current.id, { shared: stillShared });
  } catch (error) {
    showError(describeError(error));
  }
}

export async function openShare(record) {
  current = record;
  title.textContent = `Share “${record.name}”`;
  form.reset();
  created.classList.add("d-none");
  showError("");
  window.bootstrap.Modal.getOrCreateInstance(modalNode).show();
  try {
    await refresh();
  } catch (error) {
    showError(describeError(error));
  }
}

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  showError("");
  const body = {};
  const expiry = document.getElementById("share-expiry").value;
  const password = document.getElementById("share-password-new").value;
  const max = document.getElementById("share-max").value;
  if (expiry) body.expires_in = Number(expiry);
  if (password) body.password = password;
  if (max) body.max_downloads = Number(max);
  try {
    const share = await api(bases.metadata, `/api/files/${encodeURIComponent(current.id)}/shares`,
      { method: "POST", json: body });
    urlField.value = absolute(share.url);
    created.classList.remove("d-none");
    urlField.select();
    await refresh();
    fileList?.patch?.(current.id, { shared: true });
  } catch (error) {
    showError(describeError(error));
  }
});

copyButton?.addEventListener("click", async () => {
  if (await copyText(urlField.value)) toast("Link copied.");
  else urlField.select();
});

if (modalNode) {
  registerRowAction({ id: "share", label: "Share…", icon: "bi-share", run: (record) => openShare(record) });
}

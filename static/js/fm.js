// The home page's file manager: the folder named by ?folder=<id> (the root without), its
// folders then files from GET /api/folders/{id}/items, in a list or a grid (thumbnails),
// breadcrumbs, multi-select, a menu per entry (open, download, rename, move to…, copy to…,
// share, delete with Undo), drag entries onto a folder or a breadcrumb to move them, and
// uploads into the folder on view. Every action has a keyboard path (menus and dialogs);
// dragging is a shortcut, never the only way.
import { api, bases, describeError } from "./api.js";
import { fileIcon, humanSize, previewKind, startClock, timeNode } from "./format.js";
import { openPreview } from "./preview.js";
import { openShare } from "./shares.js";
import { confirmDialog, h, icon } from "./ui.js";
import { addFiles, onUploaded, setUploadTarget } from "./upload.js";

const UNDO_MS = 6000;
const ENTRY_TYPE = "application/x-filebay-entries";
const THUMB_KINDS = new Set(["image", "pdf", "video"]);

const root = document.getElementById("fm");
const entriesNode = document.getElementById("entries");
const crumbsNode = document.getElementById("crumbs");
const statusNode = document.getElementById("fm-status");
const emptyNode = document.getElementById("empty-state");
const errorNode = document.getElementById("fm-error");
const moreButton = document.getElementById("load-more");
const sortSelect = document.getElementById("fm-sort");
const selectionBar = document.getElementById("selection-bar");
const selectAll = document.getElementById("select-all");
const listHead = document.getElementById("fm-list-head");

const state = {
  folder: "", // "" is the root
  crumbs: [], // [{id, name}] from the root's first child to the folder on view
  entries: new Map(), // key ("folder:<id>" / "file:<id>") → record, in the order shown
  selected: new Set(),
  nextCursor: null,
  sort: "name",
  view: "list",
  generation: 0,
  pending: new Map(), // key → {record, timer}: deletes waiting out their Undo
};

const keyOf = (record) => `${record.kind === "folder" ? "folder" : "file"}:${record.id}`;
const isFolder = (record) => record.kind === "folder";
const folderParam = (id) => encodeURIComponent(id || "root");

function contentUrl(record, inline = false) {
  const url = `${bases.download}/api/files/${encodeURIComponent(record.id)}/content`;
  return inline ? `${url}?inline=1` : url;
}

function folderName() {
  return state.crumbs.length ? state.crumbs[state.crumbs.length - 1].name : "Home";
}

function say(text) {
  statusNode.textContent = text;
}

// ---------------------------------------------------------------- loading a folder

async function loadFolder({ append = false } = {}) {
  const generation = ++state.generation;
  const params = new URLSearchParams({ sort: state.sort, limit: root.dataset.limit || "100" });
  if (append && state.nextCursor) params.set("cursor", state.nextCursor);
  root.setAttribute("aria-busy", "true");
  moreButton.disabled = true;
  try {
    const [page, folder] = await Promise.all([
      api(bases.metadata, `/api/folders/${folderParam(state.folder)}/items?${params}`),
      append || !state.folder ? null : api(bases.metadata, `/api/folders/${folderParam(state.folder)}`),
    ]);
    if (generation !== state.generation) return;
    if (!append) {
      state.entries.clear();
      entriesNode.replaceChildren();
      if (folder) state.crumbs = crumbsOf(folder);
      else if (!state.folder) state.crumbs = [];
      renderCrumbs();
    }
    for (const record of page.items) {
      const key = keyOf(record);
      if (state.entries.has(key) || state.pending.has(key)) continue;
      state.entries.set(key, record);
      entriesNode.append(entryNode(record));
    }
    state.nextCursor = page.next_cursor;
    errorNode.classList.add("d-none");
  } catch (error) {
    if (generation !== state.generation) return;
    document.getElementById("fm-error-text").textContent = error.status === 404 && state.folder
      ? "This folder does not exist (any more)."
      : `The folder could not be loaded. ${describeError(error)}`;
    errorNode.classList.remove("d-none");
  } finally {
    if (generation === state.generation) {
      root.removeAttribute("aria-busy");
      moreButton.disabled = false;
      update();
    }
  }
}

/** The folder's breadcrumbs without the root (shown as "Home"), ending with the folder. */
function crumbsOf(folder) {
  const crumbs = (folder.breadcrumbs || []).filter((c) => c.id && c.id !== "root");
  if (!crumbs.length || crumbs[crumbs.length - 1].id !== folder.id) crumbs.push({ id: folder.id, name: folder.name });
  return crumbs;
}

function renderCrumbs() {
  const all = [{ id: "", name: "Home" }, ...state.crumbs];
  crumbsNode.replaceChildren(...all.map((crumb, i) => {
    const last = i === all.length - 1;
    const inner = last
      ? h("span", { class: "fm-crumb", "data-id": crumb.id, tabindex: "-1", id: "current-crumb" }, crumb.name)
      : h("a", {
        class: "fm-crumb", "data-id": crumb.id, href: folderUrl(crumb.id),
        onclick: (event) => { event.preventDefault(); navigate(crumb.id); },
      }, crumb.name);
    if (!last) dropTarget(inner, () => crumb.id, () => crumb.name);
    return h("li", { class: `breadcrumb-item${last ? " active" : ""}`, "aria-current": last ? "page" : null }, inner);
  }));
  document.title = `${folderName()} · filebay`;
  document.getElementById("fm-title").textContent = state.crumbs.length ? `Folder ${folderName()}` : "Files";
}

function folderUrl(id) {
  return id ? `${bases.ui}/?folder=${encodeURIComponent(id)}` : `${bases.ui}/`;
}

/** Show folder `id`; a new history entry unless we are answering back/forward. */
function navigate(id, { push = true, focus = true } = {}) {
  // Deletes waiting for their Undo keep waiting: their entries stay out of every listing.
  state.folder = id || "";
  root.dataset.folder = state.folder;
  state.selected.clear();
  state.nextCursor = null;
  if (push) window.history.pushState({ folder: state.folder }, "", folderUrl(state.folder));
  return loadFolder().then(() => {
    if (focus) document.getElementById("current-crumb")?.focus();
  });
}

// ---------------------------------------------------------------- rendering entries

function entryNode(record) {
  const key = keyOf(record);
  const folder = isFolder(record);
  const name = record.name;
  const box = h("input", {
    class: "form-check-input fm-select", type: "checkbox", "aria-label": `Select ${name}`,
    onchange: (event) => {
      if (event.target.checked) state.selected.add(key);
      else state.selected.delete(key);
      update();
    },
  });
  box.checked = state.selected.has(key);
  const opener = folder
    ? h("a", {
      class: "fm-name text-break", href: folderUrl(record.id),
      onclick: (event) => { event.preventDefault(); navigate(record.id); },
    }, name)
    : h("a", {
      class: "fm-name text-break", href: contentUrl(record), download: name,
      onclick: (event) => {
        if (!previewKind(record.content_type, name)) return; // no preview: the link downloads
        event.preventDefault();
        open(record);
      },
    }, name);
  const node = h("li", {
    class: `fm-entry${folder ? " is-folder" : ""}`, "data-key": key, "data-kind": folder ? "folder" : "file",
    "data-name": name, draggable: "true",
  },
  h("span", { class: "fm-col-select" }, box),
  h("span", { class: "fm-thumb" }, thumbnail(record)),
  h("span", { class: "fm-col-name min-w-0" }, opener,
    h("span", { class: "fm-meta small text-body-secondary d-md-none" },
      folder ? "Folder · " : `${humanSize(record.size)} · `, timeNode(h, record.updated_at || record.created_at))),
  h("span", { class: "fm-col-size small text-body-secondary d-none d-md-block", title: folder ? null : `${record.size} bytes` },
    folder ? "Folder" : humanSize(record.size)),
  h("span", { class: "fm-col-time small text-body-secondary d-none d-md-block" }, timeNode(h, record.updated_at || record.created_at)),
  h("span", { class: "fm-col-actions" }, menu(record)));
  node.addEventListener("dragstart", (event) => {
    const keys = state.selected.has(key) ? [...state.selected] : [key];
    event.dataTransfer.setData(ENTRY_TYPE, JSON.stringify(keys));
    event.dataTransfer.effectAllowed = "move";
  });
  node.addEventListener("keydown", (event) => {
    if (event.target.closest(".dropdown-menu")) return;
    if (event.key === "Delete") { event.preventDefault(); removeEntries([key]); }
    if (event.key === "F2") { event.preventDefault(); rename(record); }
  });
  if (folder) dropTarget(node, () => record.id, () => record.name);
  return node;
}

function thumbnail(record) {
  if (isFolder(record)) return icon("bi-folder-fill", "fm-icon text-warning");
  const fallback = icon(fileIcon(record.content_type, record.name), "fm-icon text-body-secondary");
  if (state.view !== "grid" || !THUMB_KINDS.has(previewKind(record.content_type, record.name))) return fallback;
  const img = h("img", {
    class: "fm-thumb-img", alt: "", loading: "lazy", decoding: "async",
    src: `${bases.download}/api/files/${encodeURIComponent(record.id)}/thumbnail?size=256`,
  });
  // No thumbnail (404: not an image the server can read, or none made): the type's icon.
  img.addEventListener("error", () => img.replaceWith(fallback), { once: true });
  return img;
}

function menu(record) {
  const folder = isFolder(record);
  const item = (label, symbol, run, extra = "") => h("li", {},
    h("button", { class: `dropdown-item ${extra}`, type: "button", onclick: run }, icon(symbol), ` ${label}`));
  const items = [
    item("Open", folder ? "bi-folder2-open" : "bi-eye", () => open(record)),
    folder ? null : h("li", {}, h("a", { class: "dropdown-item", href: contentUrl(record), download: record.name },
      icon("bi-download"), " Download")),
    item("Rename…", "bi-pencil", () => rename(record)),
    item("Move to…", "bi-folder-symlink", () => pickAndMove([keyOf(record)])),
    folder ? null : item("Copy to…", "bi-copy", () => pickAndCopy([keyOf(record)])),
    folder ? null : item("Share…", "bi-share", () => openShare(record)),
    h("li", {}, h("hr", { class: "dropdown-divider" })),
    item("Delete", "bi-trash", () => removeEntries([keyOf(record)]), "text-danger-emphasis"),
  ];
  return h("div", { class: "dropdown" },
    h("button", {
      class: "btn btn-sm btn-outline-secondary more-actions", type: "button", "data-bs-toggle": "dropdown",
      "aria-expanded": "false", "aria-label": `Actions for ${record.name}`, title: "Actions",
    }, icon("bi-three-dots-vertical")),
    h("ul", { class: "dropdown-menu dropdown-menu-end" }, items));
}

function update() {
  for (const key of [...state.selected]) if (!state.entries.has(key)) state.selected.delete(key);
  const folders = [...state.entries.values()].filter(isFolder).length;
  const files = state.entries.size - folders;
  emptyNode.classList.toggle("d-none", state.entries.size > 0 || !errorNode.classList.contains("d-none"));
  listHead.classList.toggle("invisible", state.entries.size === 0 || state.view === "grid");
  moreButton.classList.toggle("d-none", !state.nextCursor);
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  say(state.entries.size
    ? `${folderName()}: ${plural(folders, "folder")}, ${plural(files, "file")}${state.nextCursor ? ", more to load" : ""}.`
    : `${folderName()} is empty.`);
  const chosen = state.selected.size;
  selectionBar.classList.toggle("d-none", chosen === 0);
  selectionBar.classList.toggle("d-flex", chosen > 0);
  document.getElementById("selection-count").textContent = `${chosen} selected`;
  const onlyFiles = [...state.selected].every((key) => key.startsWith("file:"));
  document.getElementById("sel-copy").classList.toggle("d-none", !onlyFiles);
  selectAll.checked = state.entries.size > 0 && chosen === state.entries.size;
  selectAll.indeterminate = chosen > 0 && chosen < state.entries.size;
  for (const node of entriesNode.querySelectorAll(".fm-entry")) {
    const selected = state.selected.has(node.dataset.key);
    node.classList.toggle("is-selected", selected);
    node.querySelector(".fm-select").checked = selected;
  }
}

// ---------------------------------------------------------------- actions

function open(record) {
  if (isFolder(record)) {
    navigate(record.id);
    return;
  }
  if (previewKind(record.content_type, record.name)) {
    openPreview(record, { inline: contentUrl(record, true), download: contentUrl(record) });
  } else {
    window.location.assign(contentUrl(record));
  }
}

/** Ask for a name in the name dialog; `submit(name)` throws an ApiError to keep it open. */
function askName({ title, label, value = "", submit }) {
  const modalNode = document.getElementById("name-modal");
  const modal = window.bootstrap.Modal.getOrCreateInstance(modalNode);
  const form = document.getElementById("name-form");
  const input = document.getElementById("name-input");
  const feedback = document.getElementById("name-feedback");
  document.getElementById("name-title").textContent = title;
  document.getElementById("name-ok").textContent = label;
  input.value = value;
  input.classList.remove("is-invalid");
  input.removeAttribute("aria-invalid");
  const onSubmit = async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) {
      input.classList.add("is-invalid");
      input.setAttribute("aria-invalid", "true");
      feedback.textContent = "A name is needed.";
      return;
    }
    try {
      const after = await submit(name);
      // Focus moves only once the dialog is gone (it gives focus back to its opener).
      if (after) modalNode.addEventListener("hidden.bs.modal", after, { once: true });
      modal.hide();
    } catch (error) {
      input.classList.add("is-invalid");
      input.setAttribute("aria-invalid", "true");
      feedback.textContent = error.code === "name_taken"
        ? `“${name}” is already taken in this folder.`
        : error.status === 400 || error.status === 422 ? `Not accepted: ${error.message}.` : describeError(error);
      input.focus();
    }
  };
  form.onsubmit = onSubmit;
  modalNode.addEventListener("shown.bs.modal", () => {
    input.focus();
    const dot = value.lastIndexOf(".");
    input.setSelectionRange(0, dot > 0 ? dot : value.length);
  }, { once: true });
  modal.show();
}

function newFolder() {
  askName({
    title: `New folder in ${folderName()}`,
    label: "Create",
    submit: async (name) => {
      const body = { name };
      if (state.folder) body.parent_id = state.folder;
      const folder = await api(bases.metadata, "/api/folders", { method: "POST", json: body });
      await loadFolder();
      notice(`Folder “${folder.name}” created.`);
      return () => focusEntry(keyOf({ ...folder, kind: "folder" }));
    },
  });
}

function rename(record) {
  const key = keyOf(record);
  askName({
    title: `Rename “${record.name}”`,
    label: "Rename",
    value: record.name,
    submit: async (name) => {
      if (name === record.name) return;
      const path = isFolder(record) ? `/api/folders/${encodeURIComponent(record.id)}` : `/api/files/${encodeURIComponent(record.id)}`;
      const updated = await api(bases.metadata, path, { method: "PATCH", json: { name } });
      const fresh = { ...record, ...updated, kind: record.kind || updated.kind };
      state.entries.set(key, fresh);
      entriesNode.querySelector(`[data-key="${CSS.escape(key)}"]`)?.replaceWith(entryNode(fresh));
      update();
      notice(`Renamed to “${fresh.name}”.`);
      return () => focusEntry(key);
    },
  });
}

function focusEntry(key) {
  const node = entriesNode.querySelector(`[data-key="${CSS.escape(key)}"] .fm-name`);
  if (node) node.focus();
}

/** Move entries (keys) into folder `target` ("" = root); they leave the view. */
async function moveEntries(keys, target, targetName) {
  const moving = keys.filter((key) => key !== `folder:${target}`);
  if (!moving.length || (target || "") === state.folder) return;
  const failures = [];
  let moved = 0;
  for (const key of moving) {
    const record = state.entries.get(key);
    if (!record) continue;
    try {
      if (isFolder(record)) {
        await api(bases.metadata, `/api/folders/${encodeURIComponent(record.id)}`, { method: "PATCH", json: { parent_id: target || "root" } });
      } else {
        await api(bases.metadata, `/api/files/${encodeURIComponent(record.id)}`, { method: "PATCH", json: { folder_id: target || "root" } });
      }
      moved += 1;
      dropEntry(key);
    } catch (error) {
      failures.push(`${record.name}: ${error.code === "cycle" ? "a folder cannot go inside itself" : error.code === "name_taken" ? "the name is taken there" : describeError(error)}`);
    }
  }
  update();
  if (moved) notice(`Moved ${moved === 1 ? "1 item" : `${moved} items`} to ${targetName}.`);
  if (failures.length) notice(`Not moved: ${failures.join("; ")}`, "danger");
  (entriesNode.querySelector(".fm-name") || document.getElementById("current-crumb"))?.focus();
}

async function copyEntries(keys, target, targetName) {
  const failures = [];
  let copied = 0;
  for (const key of keys) {
    const record = state.entries.get(key);
    if (!record || isFolder(record)) continue;
    try {
      const body = target ? { folder_id: target } : { folder_id: "root" };
      await api(bases.metadata, `/api/files/${encodeURIComponent(record.id)}/copy`, { method: "POST", json: body });
      copied += 1;
    } catch (error) {
      failures.push(`${record.name}: ${describeError(error)}`);
    }
  }
  if ((target || "") === state.folder) await loadFolder();
  if (copied) notice(`Copied ${copied === 1 ? "1 file" : `${copied} files`} to ${targetName}.`);
  if (failures.length) notice(`Not copied: ${failures.join("; ")}`, "danger");
  document.dispatchEvent(new CustomEvent("filebay:changed"));
}

function dropEntry(key) {
  state.entries.delete(key);
  state.selected.delete(key);
  entriesNode.querySelector(`[data-key="${CSS.escape(key)}"]`)?.remove();
}

// Delete with Undo: entries leave the view at once; the DELETE goes out after UNDO_MS
// (there is no trash yet), or when the page is left.
function removeEntries(keys) {
  const records = keys.map((key) => [key, state.entries.get(key)]).filter(([, record]) => record);
  if (!records.length) return;
  for (const [key] of records) dropEntry(key);
  update();
  const batch = records.map(([key, record]) => ({ key, record }));
  const label = batch.length === 1 ? `“${batch[0].record.name}”` : `${batch.length} items`;
  const timer = window.setTimeout(() => sendDeletes(batch), UNDO_MS);
  for (const entry of batch) state.pending.set(entry.key, { ...entry, timer });
  undoToast(`Deleted ${label}.`, () => {
    if (!batch.every(({ key }) => state.pending.has(key))) {
      notice(`Too late: ${label} is already deleted.`, "danger");
      return;
    }
    window.clearTimeout(timer);
    for (const { key } of batch) state.pending.delete(key);
    loadFolder().then(() => focusEntry(batch[0].key));
    notice(`Restored ${label}.`);
  });
  (entriesNode.querySelector(".fm-name") || document.getElementById("current-crumb"))?.focus();
}

function deletePath({ record }) {
  return isFolder(record) ? `/api/folders/${encodeURIComponent(record.id)}` : `/api/files/${encodeURIComponent(record.id)}`;
}

async function sendDeletes(batch) {
  const failures = [];
  await Promise.all(batch.map(async (entry) => {
    if (!state.pending.has(entry.key)) return;
    state.pending.delete(entry.key);
    try {
      await api(bases.metadata, deletePath(entry), { method: "DELETE" });
    } catch (error) {
      if (error.status !== 404) failures.push(`${entry.record.name}: ${describeError(error)}`);
    }
  }));
  document.dispatchEvent(new CustomEvent("filebay:changed"));
  if (failures.length) {
    notice(`Not deleted: ${failures.join("; ")}`, "danger");
    loadFolder();
  }
}

/** Leaving the page: the deletes waiting for their Undo go now. */
function flushDeletes() {
  const waiting = [...state.pending.values()];
  if (!waiting.length) return;
  for (const entry of waiting) window.clearTimeout(entry.timer);
  // keepalive: the request outlives the page.
  const csrf = document.cookie.match(/(?:^|;\s*)filebay_csrf=([^;]+)/);
  for (const entry of waiting) {
    state.pending.delete(entry.key);
    fetch(bases.metadata + deletePath(entry), {
      method: "DELETE", credentials: "include", keepalive: true,
      headers: { "X-CSRF-Token": csrf ? decodeURIComponent(csrf[1]) : "" },
    }).catch(() => {});
  }
}

// ---------------------------------------------------------------- notices

const toasts = document.getElementById("toasts");

function notice(message, variant = "success") {
  showToast(h("span", { class: "flex-grow-1" }, message), variant, variant !== "danger" ? 4000 : 0);
}

function undoToast(message, undo) {
  let done = false;
  const button = h("button", {
    class: "btn btn-sm btn-outline-primary undo-button", type: "button",
    onclick: () => {
      if (done) return;
      done = true;
      window.bootstrap.Toast.getOrCreateInstance(node).hide();
      undo();
    },
  }, "Undo");
  const node = showToast(h("span", { class: "flex-grow-1" }, message), "success", UNDO_MS, button);
  node.classList.add("undo-toast");
}

function showToast(content, variant, delay, action = null) {
  const symbol = variant === "danger" ? "bi-exclamation-triangle-fill" : "bi-check-circle-fill";
  const node = h("div", { class: "toast", role: variant === "danger" ? "alert" : "status", "aria-atomic": "true" },
    h("div", { class: "toast-body d-flex align-items-center gap-2" }, icon(symbol, `text-${variant}`), content, action,
      h("button", { type: "button", class: "btn-close", "data-bs-dismiss": "toast", "aria-label": "Close" })));
  toasts.append(node);
  const instance = window.bootstrap.Toast.getOrCreateInstance(node, { delay: delay || 5000, autohide: delay > 0 });
  node.addEventListener("hidden.bs.toast", () => node.remove());
  instance.show();
  return node;
}

// ---------------------------------------------------------------- the folder picker dialog

const pick = {
  modalNode: document.getElementById("pick-modal"),
  folder: "",
  crumbs: [],
  run: null,
};

function pickAndMove(keys) {
  const names = keys.map((key) => state.entries.get(key)?.name).filter(Boolean);
  openPicker(names.length === 1 ? `Move “${names[0]}” to…` : `Move ${names.length} items to…`, "Move here",
    (target, name) => moveEntries(keys, target, name), keys);
}

function pickAndCopy(keys) {
  const names = keys.map((key) => state.entries.get(key)?.name).filter(Boolean);
  openPicker(names.length === 1 ? `Copy “${names[0]}” to…` : `Copy ${names.length} files to…`, "Copy here",
    (target, name) => copyEntries(keys, target, name), []);
}

function openPicker(title, label, run, excluded) {
  pick.run = run;
  pick.excluded = new Set(excluded);
  pick.folder = state.folder;
  pick.crumbs = [...state.crumbs];
  document.getElementById("pick-title").textContent = title;
  document.getElementById("pick-ok").textContent = label;
  window.bootstrap.Modal.getOrCreateInstance(pick.modalNode).show();
  pick.modalNode.addEventListener("shown.bs.modal", () => loadPicker(), { once: true });
}

async function loadPicker() {
  const listNode = document.getElementById("pick-list");
  const errorBox = document.getElementById("pick-error");
  errorBox.classList.add("d-none");
  const all = [{ id: "", name: "Home" }, ...pick.crumbs];
  document.getElementById("pick-crumbs").replaceChildren(...all.map((crumb, i) => {
    const last = i === all.length - 1;
    return h("li", { class: `breadcrumb-item${last ? " active" : ""}`, "aria-current": last ? "location" : null },
      last ? crumb.name : h("button", {
        class: "btn btn-link p-0 align-baseline", type: "button",
        onclick: () => { pick.folder = crumb.id; pick.crumbs = pick.crumbs.slice(0, i); loadPicker(); },
      }, crumb.name));
  }));
  try {
    const folders = [];
    let cursor = null;
    do {
      const params = new URLSearchParams({ sort: "name", limit: "200" });
      if (cursor) params.set("cursor", cursor);
      const page = await api(bases.metadata, `/api/folders/${folderParam(pick.folder)}/items?${params}`);
      folders.push(...page.items.filter(isFolder));
      // Folders come first: once a page has a file, there are no more folders.
      cursor = page.items.length && page.items.every(isFolder) ? page.next_cursor : null;
    } while (cursor);
    listNode.replaceChildren(...folders.map((folder) => {
      const excluded = pick.excluded.has(`folder:${folder.id}`);
      return h("li", { class: "list-group-item p-0" },
        h("button", {
          class: "list-group-item list-group-item-action border-0 d-flex align-items-center gap-2", type: "button",
          disabled: excluded, "aria-label": `Open ${folder.name}`,
          onclick: () => { pick.folder = folder.id; pick.crumbs = [...pick.crumbs, { id: folder.id, name: folder.name }]; loadPicker(); },
        }, icon("bi-folder-fill", "text-warning"), folder.name, excluded ? " (being moved)" : ""));
    }));
    document.getElementById("pick-none").classList.toggle("d-none", folders.length > 0);
    (listNode.querySelector("button:not([disabled])") || document.getElementById("pick-ok")).focus();
  } catch (error) {
    errorBox.textContent = describeError(error);
    errorBox.classList.remove("d-none");
  }
}

document.getElementById("pick-ok").addEventListener("click", () => {
  const target = pick.folder;
  const name = pick.crumbs.length ? pick.crumbs[pick.crumbs.length - 1].name : "Home";
  window.bootstrap.Modal.getOrCreateInstance(pick.modalNode).hide();
  if (pick.run) pick.run(target, name);
});

// ---------------------------------------------------------------- drag to move

function dropTarget(node, targetId, targetName) {
  const accepts = (event) => Array.from(event.dataTransfer ? event.dataTransfer.types : []).includes(ENTRY_TYPE);
  node.addEventListener("dragover", (event) => {
    if (!accepts(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    node.classList.add("is-drop-target");
  });
  node.addEventListener("dragleave", () => node.classList.remove("is-drop-target"));
  node.addEventListener("drop", (event) => {
    if (!accepts(event)) return;
    event.preventDefault();
    event.stopPropagation();
    node.classList.remove("is-drop-target");
    let keys = [];
    try {
      keys = JSON.parse(event.dataTransfer.getData(ENTRY_TYPE));
    } catch { return; }
    moveEntries(keys, targetId(), targetName());
  });
}

// ---------------------------------------------------------------- wiring

function setView(view) {
  state.view = view === "grid" ? "grid" : "list";
  entriesNode.dataset.view = state.view;
  document.getElementById(`view-${state.view}`).checked = true;
  try { window.localStorage.setItem("filebay/view", state.view); } catch { /* private mode */ }
  for (const [key, record] of state.entries) {
    const node = entriesNode.querySelector(`[data-key="${CSS.escape(key)}"] .fm-thumb`);
    if (node) node.replaceChildren(thumbnail(record));
  }
  update();
}

for (const radio of document.querySelectorAll('input[name="view"]')) {
  radio.addEventListener("change", () => setView(radio.value));
}
sortSelect.addEventListener("change", () => {
  state.sort = sortSelect.value;
  loadFolder();
});
moreButton.addEventListener("click", () => loadFolder({ append: true }));
document.getElementById("fm-retry").addEventListener("click", () => loadFolder());
const newFolderButton = document.getElementById("new-folder");
newFolderButton.disabled = false;
newFolderButton.addEventListener("click", newFolder);
selectAll.addEventListener("change", () => {
  if (selectAll.checked) for (const key of state.entries.keys()) state.selected.add(key);
  else state.selected.clear();
  update();
});
document.getElementById("sel-move").addEventListener("click", () => pickAndMove([...state.selected]));
document.getElementById("sel-copy").addEventListener("click", () => pickAndCopy([...state.selected]));
document.getElementById("sel-delete").addEventListener("click", async () => {
  const keys = [...state.selected];
  if (keys.length > 1) {
    const ok = await confirmDialog({ title: `Delete ${keys.length} items?`, body: "You can undo it for a few seconds.", confirmLabel: `Delete ${keys.length} items` });
    if (!ok) return;
  }
  removeEntries(keys);
});
document.getElementById("sel-clear").addEventListener("click", () => {
  state.selected.clear();
  update();
  entriesNode.querySelector(".fm-name")?.focus();
});

window.addEventListener("popstate", (event) => {
  const id = (event.state && event.state.folder) ?? new URLSearchParams(window.location.search).get("folder") ?? "";
  navigate(id, { push: false });
});
window.addEventListener("pagehide", flushDeletes);

// Uploads go to the folder on view; finished ones show up without a reload.
setUploadTarget(() => ({ id: state.folder, name: folderName() }));
let refreshTimer = 0;
onUploaded((record, { folderId }) => {
  if ((folderId || "") !== state.folder) return;
  window.clearTimeout(refreshTimer);
  // A burst of uploads (a folder) refreshes the view once.
  refreshTimer = window.setTimeout(() => {
    if (!state.pending.size) loadFolder();
  }, 300);
});

let view = "list";
try { view = window.localStorage.getItem("filebay/view") || "list"; } catch { /* private mode */ }
state.folder = root.dataset.folder || "";
window.history.replaceState({ folder: state.folder }, "", window.location.href);
setView(view);
startClock();
loadFolder();

export { addFiles };

// The trash: what was deleted, restore it, delete it for good, empty it (/api/trash).
import { api, bases, describeError } from "./api.js";
import { exactTime, humanSize, relativeTime } from "./format.js";
import { confirmDialog, h, icon, toast } from "./ui.js";

const table = document.getElementById("trash-table");
const tbody = table.querySelector("tbody");
const none = document.getElementById("trash-empty");
const more = document.getElementById("trash-more");
const emptyButton = document.getElementById("empty-trash");
const status = document.getElementById("trash-status");
const DAY = 24 * 3600 * 1000;
let cursor = null;

function parentOf(path) {
  const cut = path.lastIndexOf("/");
  return cut > 0 ? path.slice(0, cut) : "/";
}

function row(item) {
  const deleted = new Date(item.deleted_at);
  const left = Math.max(0, Math.ceil((new Date(item.purge_at) - Date.now()) / DAY));
  const kind = item.kind === "folder" ? "bi-folder" : "bi-file-earmark";
  return h("tr", { "data-id": item.id },
    h("td", { class: "text-break" }, icon(kind, "text-body-secondary me-1"), item.name),
    h("td", { class: "text-break d-none d-md-table-cell" }, parentOf(item.original_path)),
    h("td", { class: "text-nowrap" }, humanSize(item.size)),
    h("td", { class: "text-nowrap d-none d-sm-table-cell" },
      h("time", { datetime: item.deleted_at, title: exactTime(deleted) }, relativeTime(deleted))),
    h("td", { class: "text-nowrap", title: `Deleted for good on ${exactTime(new Date(item.purge_at))}` },
      `${left} day${left === 1 ? "" : "s"}`),
    h("td", { class: "text-end text-nowrap" },
      h("button", {
        class: "btn btn-sm btn-outline-primary me-1",
        type: "button",
        "aria-label": `Restore ${item.name}`,
        onclick: () => restore(item),
      }, icon("bi-arrow-counterclockwise"), h("span", { class: "d-none d-sm-inline" }, " Restore")),
      h("button", {
        class: "btn btn-sm btn-outline-danger",
        type: "button",
        "aria-label": `Delete ${item.name} forever`,
        onclick: () => purge(item),
      }, icon("bi-x-lg"), h("span", { class: "d-none d-sm-inline" }, " Delete forever"))));
}

function shown() {
  const any = tbody.children.length > 0;
  table.classList.toggle("d-none", !any);
  none.classList.toggle("d-none", any);
  emptyButton.disabled = !any;
  more.classList.toggle("d-none", !cursor);
}

async function load(append = false) {
  try {
    const query = cursor && append ? `?cursor=${encodeURIComponent(cursor)}` : "";
    const page = await api(bases.metadata, `/api/trash${query}`);
    const rows = page.items.map(row);
    if (append) tbody.append(...rows);
    else tbody.replaceChildren(...rows);
    cursor = page.next_cursor;
    shown();
    status.textContent = "";
  } catch (error) {
    status.textContent = describeError(error);
  }
}

function removeRow(item) {
  tbody.querySelector(`tr[data-id="${item.id}"]`)?.remove();
  shown();
}

async function restore(item) {
  try {
    const record = await api(bases.metadata, `/api/trash/${item.id}/restore`, { method: "POST" });
    removeRow(item);
    toast(`Restored ${record.name} to ${parentOf(record.path)}.`);
  } catch (error) {
    toast(describeError(error), { variant: "danger" });
  }
}

async function purge(item) {
  const ok = await confirmDialog({
    title: "Delete forever?",
    body: `${item.name} will be deleted for good. This cannot be undone.`,
    confirmLabel: "Delete forever",
  });
  if (!ok) return;
  try {
    await api(bases.metadata, `/api/trash/${item.id}`, { method: "DELETE" });
    removeRow(item);
    toast(`Deleted ${item.name} for good.`);
  } catch (error) {
    toast(describeError(error), { variant: "danger" });
  }
}

emptyButton.addEventListener("click", async () => {
  const ok = await confirmDialog({
    title: "Empty the trash?",
    body: "Everything in the trash will be deleted for good. This cannot be undone.",
    confirmLabel: "Empty trash",
  });
  if (!ok) return;
  try {
    await api(bases.metadata, "/api/trash", { method: "DELETE" });
    cursor = null;
    tbody.replaceChildren();
    shown();
    toast("The trash is empty.");
  } catch (error) {
    toast(describeError(error), { variant: "danger" });
  }
});
more.addEventListener("click", () => load(true));
load();

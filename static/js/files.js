// The file list ("Uploaded files" on the main page, and /uploads): rows rendered from
// GET /api/files with textContent only; search (server-side q), sorting, "load more",
// selection, and the row actions download, preview, rename, copy link and delete.
import { api, bases, describeError } from "./api.js";
import { fileIcon, humanSize, previewKind, startClock, timeNode } from "./format.js";
import { openPreview } from "./preview.js";
import { confirmDialog, copyText, h, icon, toast } from "./ui.js";

const SEARCH_DELAY_MS = 300;
const DEFAULT_SORT = "-created_at";

/**
 * Extra row actions, shown in each row's "More actions" menu before Delete. Share links add
 * theirs with registerRowAction({id, label, icon, run(record, list), when(record)?}).
 */
const rowActions = [];

export function registerRowAction(action) {
  rowActions.push(action);
  if (fileList) fileList.rerender();
}

export function contentUrl(record, { inline = false } = {}) {
  const url = `${bases.download}/api/files/${encodeURIComponent(record.id)}/content`;
  return inline ? `${url}?inline=1` : url;
}

function matches(record, q) {
  return !q || record.name.toLowerCase().includes(q.toLowerCase());
}

function folderLine(record) {
  const path = record.path || "";
  const folder = path.slice(0, path.lastIndexOf("/"));
  if (!folder || !record.folder_id) return null;
  return h("div", { class: "small text-body-secondary folder-line" }, "in ",
    h("a", { href: `${bases.ui}/?folder=${encodeURIComponent(record.folder_id)}` }, folder));
}

class FileList {
  constructor(root) {
    this.root = root;
    this.admin = root.dataset.admin === "true";
    this.ownerSwitch = root.querySelector("#all-owners");
    this.limit = Number(root.dataset.limit) || 50;
    this.table = root.querySelector("#file-table");
    this.tbody = this.table.querySelector("tbody");
    this.search = root.querySelector("#q");
    this.sortSelect = root.querySelector("#sort");
    this.more = root.querySelector("#load-more");
    this.empty = root.querySelector("#empty-state");
    this.status = root.querySelector("#list-status");
    this.error = root.querySelector("#list-error");
    this.selectAll = root.querySelector("#select-all");
    this.deleteSelected = root.querySelector("#delete-selected");
    this.records = new Map(); // id → record, in the order shown
    this.selected = new Set();
    this.nextCursor = null;
    this.loading = false;
    this.staleAnswer = false;
    this.generation = 0; // answers to superseded queries are dropped
    this.reloadTimer = 0;

    const params = new URLSearchParams(window.location.search);
    this.q = params.get("q") || "";
    this.sort = params.get("sort") || DEFAULT_SORT;
    // An admin's list is their own files unless they switch on "All users".
    this.allOwners = this.admin && params.get("owner") === "all";

    for (const node of root.querySelectorAll(".js-show")) node.classList.remove("d-none");
    for (const node of root.querySelectorAll(".js-hide")) node.classList.add("d-none");
    this.wire();
    this.load();
    startClock();
  }

  wire() {
    this.root.querySelector("#list-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.setQuery(this.search.value.trim());
    });
    let timer = 0;
    this.search.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => this.setQuery(this.search.value.trim()), SEARCH_DELAY_MS);
    });
    this.sortSelect.addEventListener("change", () => this.setSort(this.sortSelect.value));
    for (const link of this.table.querySelectorAll(".sort-link")) {
      link.addEventListener("click", (event) => {
        event.preventDefault();
        this.setSort(this.nextSort(link));
      });
    }
    this.more.addEventListener("click", () => this.load({ append: true }));
    if (this.ownerSwitch) {
      this.ownerSwitch.addEventListener("change", () => {
        this.allOwners = this.ownerSwitch.checked;
        this.load();
      });
    }
    this.root.querySelector("#list-retry").addEventListener("click", () => this.load());
    this.selectAll.addEventListener("change", () => {
      for (const id of this.records.keys()) {
        if (this.selectAll.checked) this.selected.add(id);
        else this.selected.delete(id);
      }
      for (const box of this.tbody.querySelectorAll(".row-select")) box.checked = this.selectAll.checked;
      this.update();
    });
    this.deleteSelected.addEventListener("click", () => this.remove([...this.selected]));
  }

  /** Clicking a column: its first direction, or the other one when it is the sort already. */
  nextSort(link) {
    const field = link.dataset.sortField;
    if (this.sort.replace(/^-/, "") !== field) return link.dataset.sortFirst;
    return this.sort.startsWith("-") ? field : `-${field}`;
  }

  setQuery(q) {
    if (q === this.q) return;
    this.q = q;
    this.load();
  }

  setSort(sort) {
    this.sort = sort;
    this.sortSelect.value = sort;
    this.load();
  }

  /** Keep the address in step, so a reload or a shared address shows the same list. */
  remember() {
    const url = new URL(window.location.href);
    for (const key of ["cursor", "limit"]) url.searchParams.delete(key);
    if (this.q) url.searchParams.set("q", this.q);
    else url.searchParams.delete("q");
    if (this.sort !== DEFAULT_SORT) url.searchParams.set("sort", this.sort);
    else url.searchParams.delete("sort");
    if (this.allOwners) url.searchParams.set("owner", "all");
    else url.searchParams.delete("owner");
    window.history.replaceState(window.history.state, "", url);
  }

  async load({ append = false } = {}) {
    const generation = ++this.generation;
    const params = new URLSearchParams({ limit: String(this.limit), sort: this.sort });
    if (this.q) params.set("q", this.q);
    if (this.allOwners) params.set("owner", "all");
    if (append && this.nextCursor) params.set("cursor", this.nextCursor);
    this.root.setAttribute("aria-busy", "true");
    this.loading = true;
    this.more.disabled = true;
    if (!append) this.remember();
    try {
      const page = await api(bases.metadata, `/api/files?${params}`);
      if (generation !== this.generation) return;
      if (!append) {
        this.showOwners();
        this.records.clear();
        this.selected.clear();
        this.tbody.replaceChildren();
      }
      for (const record of page.items) {
        if (this.records.has(record.id)) continue;
        this.records.set(record.id, record);
        this.tbody.append(this.row(record));
      }
      this.nextCursor = page.next_cursor;
      this.error.classList.add("d-none");
    } catch (error) {
      if (generation !== this.generation) return;
      this.root.querySelector("#list-error-text").textContent = `The list could not be loaded. ${describeError(error)}`;
      this.error.classList.remove("d-none");
    } finally {
      if (generation === this.generation) {
        this.root.removeAttribute("aria-busy");
        this.loading = false;
        this.more.disabled = false;
        this.update();
        if (this.staleAnswer) {
          // Files arrived while this answer was on its way: it may not have them.
          this.staleAnswer = false;
          this.load();
        }
      }
    }
  }

  /** After an upload: show the new files without a reload. */
  added(records) {
    if (this.loading) {
      this.staleAnswer = true;
      return;
    }
    if (this.sort !== DEFAULT_SORT) {
      // Their place depends on the sort: ask the server (once for a burst of uploads).
      window.clearTimeout(this.reloadTimer);
      this.reloadTimer = window.setTimeout(() => this.load(), 400);
      return;
    }
    for (const record of records) {
      if (!matches(record, this.q) || this.records.has(record.id)) continue;
      // Newest first: before the first row that is older (parallel uploads end in any order).
      const entries = [...this.records];
      let at = entries.findIndex(([, other]) => other.created_at < record.created_at);
      if (at < 0) at = entries.length;
      if (at === entries.length && this.nextCursor) continue; // it belongs to a later page
      entries.splice(at, 0, [record.id, record]);
      this.records = new Map(entries);
      const tr = this.row(record);
      tr.classList.add("row-new");
      this.tbody.insertBefore(tr, this.tbody.children[at] || null);
    }
    this.update();
  }

  update() {
    const count = this.records.size;
    this.table.classList.toggle("d-none", count === 0);
    this.empty.classList.toggle("d-none", count !== 0);
    if (count === 0) {
      this.empty.querySelector("#empty-title").textContent = this.q ? `No file matches “${this.q}”.` : "No files yet.";
      this.empty.querySelector("#empty-hint").textContent = this.q
        ? "Try another part of the name."
        : "Drop files on the Upload tab, or use the API with a token.";
    }
    this.more.classList.toggle("d-none", !this.nextCursor);
    const noun = count === 1 ? "file" : "files";
    this.status.textContent = count === 0 ? "" : `${count} ${noun} shown${this.nextCursor ? ", more to load" : ""}.`;
    for (const id of [...this.selected]) if (!this.records.has(id)) this.selected.delete(id);
    const chosen = this.selected.size;
    this.deleteSelected.disabled = chosen === 0;
    this.deleteSelected.parentElement.classList.toggle("d-none", chosen === 0);
    this.deleteSelected.querySelector(".selected-count").textContent = chosen ? ` (${chosen})` : "";
    this.selectAll.checked = count > 0 && chosen === count;
    this.selectAll.indeterminate = chosen > 0 && chosen < count;
    for (const th of this.table.querySelectorAll("th[data-sort-column]")) {
      const field = th.dataset.sortColumn;
      const link = th.querySelector(".sort-link");
      const iconNode = th.querySelector(".sort-icon");
      iconNode.classList.remove("bi-caret-up-fill", "bi-caret-down-fill");
      if (this.sort.replace(/^-/, "") === field) {
        const descending = this.sort.startsWith("-");
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        iconNode.classList.add(descending ? "bi-caret-down-fill" : "bi-caret-up-fill");
      } else {
        th.removeAttribute("aria-sort");
      }
      link.setAttribute("aria-label", `Sort by ${link.textContent.trim().toLowerCase()}`);
      const params = new URLSearchParams({ sort: this.nextSort(link) });
      if (this.q) params.set("q", this.q);
      if (this.allOwners) params.set("owner", "all");
      link.setAttribute("href", `?${params}`);
    }
  }

  showOwners() {
    const th = this.table.querySelector(".owner-column");
    if (th) th.classList.toggle("d-lg-table-cell", this.allOwners);
  }

  rowOf(id) {
    return this.tbody.querySelector(`tr[data-id="${CSS.escape(id)}"]`);
  }

  rerender() {
    for (const [id, record] of this.records) this.rowOf(id)?.replaceWith(this.row(record));
  }

  /** Change fields of one shown record (e.g. {shared: true}) and redraw its row. */
  patch(id, fields) {
    const record = this.records.get(id);
    if (!record) return;
    const updated = { ...record, ...fields };
    this.records.set(id, updated);
    this.rowOf(id)?.replaceWith(this.row(updated));
  }

  row(record) {
    const box = h("input", {
      class: "form-check-input row-select",
      type: "checkbox",
      "aria-label": `Select ${record.name}`,
      onchange: (event) => {
        if (event.target.checked) this.selected.add(record.id);
        else this.selected.delete(record.id);
        this.update();
      },
    });
    box.checked = this.selected.has(record.id);
    const cells = [
      h("td", { class: "select-cell" }, box),
      h("td", { class: "name-cell" }, this.nameView(record)),
      h("td", { class: "text-end text-nowrap d-none d-sm-table-cell", title: `${record.size.toLocaleString("en")} bytes` },
        humanSize(record.size)),
      h("td", { class: "text-nowrap d-none d-md-table-cell" }, timeNode(h, record.created_at)),
    ];
    if (this.allOwners) cells.push(h("td", { class: "d-none d-lg-table-cell text-break owner-cell" }, record.owner));
    cells.push(h("td", { class: "actions-cell text-end text-nowrap" }, this.actions(record)));
    return h("tr", { "data-id": record.id }, cells);
  }

  nameView(record) {
    return h("div", { class: "d-flex align-items-center gap-2" },
      icon(fileIcon(record.content_type, record.name), "file-icon text-body-secondary"),
      h("div", { class: "min-w-0" },
        h("span", { class: "file-name text-break" }, record.name),
        record.shared ? h("span", { class: "badge text-bg-info ms-2 shared-badge", title: "Has an active share link" }, "shared") : null,
        // Files live in folders: say which (a link to it in the file manager).
        folderLine(record),
        // Phones hide the size and time columns: say it under the name.
        h("div", { class: "small text-body-secondary d-sm-none" },
          `${humanSize(record.size)} · `, timeNode(h, record.created_at))));
  }

  actions(record) {
    const name = record.name;
    const group = h("div", { class: "d-inline-flex gap-1 align-items-center" });
    group.append(h("a", {
      class: "btn btn-sm btn-outline-primary",
      href: contentUrl(record),
      download: name,
      title: "Download",
      "aria-label": `Download ${name}`,
    }, icon("bi-download")));
    if (previewKind(record.content_type, name)) {
      group.append(h("button", {
        class: "btn btn-sm btn-outline-secondary",
        type: "button",
        title: "Preview",
        "aria-label": `Preview ${name}`,
        onclick: () => openPreview(record, { inline: contentUrl(record, { inline: true }), download: contentUrl(record) }),
      }, icon("bi-eye")));
    } else {
      // Keeps the menu button in the same column as on rows that have a preview.
      group.append(h("span", { class: "btn btn-sm action-placeholder", "aria-hidden": "true" }, icon("bi-eye")));
    }
    const item = (label, symbol, run, extra = "") => h("li", {},
      h("button", { class: `dropdown-item ${extra}`, type: "button", onclick: run }, icon(symbol), ` ${label}`));
    const menu = h("ul", { class: "dropdown-menu dropdown-menu-end" },
      item("Rename", "bi-pencil", () => this.rename(record.id)),
      item("Copy link", "bi-link-45deg", () => this.copyLink(record)),
      rowActions.filter((a) => !a.when || a.when(record))
        .map((a) => item(a.label, a.icon || "bi-dot", () => a.run(this.records.get(record.id) || record, this))),
      h("li", {}, h("hr", { class: "dropdown-divider" })),
      item("Delete", "bi-trash", () => this.remove([record.id]), "text-danger-emphasis"));
    group.append(h("div", { class: "dropdown" },
      h("button", {
        class: "btn btn-sm btn-outline-secondary more-actions",
        type: "button",
        "data-bs-toggle": "dropdown",
        "aria-expanded": "false",
        title: "More actions",
        "aria-label": `More actions for ${name}`,
      }, icon("bi-three-dots-vertical")),
      menu));
    return group;
  }

  async copyLink(record) {
    const url = new URL(contentUrl(record), window.location.href).href;
    if (await copyText(url)) toast("Download link copied. It works for you while you are logged in.");
    else toast(`Copy this link: ${url}`, { variant: "danger" });
  }

  rename(id) {
    const record = this.records.get(id);
    const tr = this.rowOf(id);
    if (!record || !tr) return;
    const cell = tr.querySelector(".name-cell");
    const input = h("input", {
      class: "form-control form-control-sm",
      name: "name",
      required: true,
      autocomplete: "off",
      "aria-label": `New name for ${record.name}`,
    });
    input.value = record.name;
    const feedback = h("div", { class: "invalid-feedback w-100" });
    const cancel = () => {
      cell.replaceChildren(this.nameView(record));
      tr.querySelector(".more-actions")?.focus();
    };
    const form = h("form", { class: "rename-form d-flex flex-wrap gap-1" },
      input,
      h("button", { class: "btn btn-sm btn-primary", type: "submit" }, "Save"),
      h("button", { class: "btn btn-sm btn-outline-secondary", type: "button", onclick: cancel }, "Cancel"),
      feedback);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        cancel();
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = input.value.trim();
      if (!name || name === record.name) {
        cancel();
        return;
      }
      input.disabled = true;
      try {
        const updated = await api(bases.metadata, `/api/files/${encodeURIComponent(id)}`, {
          method: "PATCH",
          json: { name },
        });
        this.records.set(id, updated);
        const fresh = this.row(updated);
        tr.replaceWith(fresh);
        fresh.querySelector(".more-actions")?.focus();
        toast(`Renamed to “${updated.name}”.`);
      } catch (error) {
        input.disabled = false;
        input.classList.add("is-invalid");
        feedback.textContent = error.status === 400 ? `Not renamed: ${error.message}.` : describeError(error);
        input.focus();
      }
    });
    cell.replaceChildren(form);
    input.focus();
    const dot = record.name.lastIndexOf(".");
    input.setSelectionRange(0, dot > 0 ? dot : record.name.length);
  }

  async remove(ids) {
    if (!ids.length) return;
    const names = ids.map((id) => this.records.get(id)?.name || id);
    const single = ids.length === 1;
    const body = single
      ? h("p", { class: "mb-0" }, "“", h("strong", { class: "text-break" }, names[0]), "” will be deleted. This cannot be undone.")
      : h("div", {},
        h("p", {}, `These ${ids.length} files will be deleted. This cannot be undone.`),
        h("ul", { class: "mb-0 text-break" }, names.slice(0, 8).map((n) => h("li", {}, n)),
          names.length > 8 ? h("li", {}, `and ${names.length - 8} more`) : null));
    const ok = await confirmDialog({
      title: single ? "Delete this file?" : `Delete ${ids.length} files?`,
      body,
      confirmLabel: single ? "Delete" : `Delete ${ids.length} files`,
    });
    if (!ok) return;
    const failures = [];
    await Promise.all(ids.map(async (id) => {
      try {
        await api(bases.metadata, `/api/files/${encodeURIComponent(id)}`, { method: "DELETE" });
      } catch (error) {
        if (error.status !== 404) {
          failures.push(`${this.records.get(id)?.name || id}: ${describeError(error)}`);
          return;
        }
      }
      this.records.delete(id);
      this.selected.delete(id);
      this.rowOf(id)?.remove();
    }));
    this.update();
    document.dispatchEvent(new CustomEvent("filebay:changed"));
    const deleted = ids.length - failures.length;
    if (deleted) toast(single ? `Deleted “${names[0]}”.` : `Deleted ${deleted} of ${ids.length} files.`);
    if (failures.length) toast(`Not deleted: ${failures.join("; ")}`, { variant: "danger" });
    if (!this.records.size && this.nextCursor) this.load();
  }
}

const root = document.getElementById("file-list");
export const fileList = root ? new FileList(root) : null;

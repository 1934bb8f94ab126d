// The upload panel of the file manager: files and folders dropped anywhere on the page or
// picked go into the folder on view when they were chosen; one card per file with progress,
// speed, time left, cancel and retry. Small single files go in one multipart POST; large
// files and everything inside a folder go through tus (tus-js-client) with the metadata
// folder_id and relativePath (the server creates the folders), resuming after a dropped
// connection and, from the fingerprint kept in localStorage, after a page reload.
import { api, bases, describeError, errorFromBody, me } from "./api.js";
import { duration, fileIcon, humanRate, humanSize } from "./format.js";
import { csrfToken } from "./session.js";
import { h, icon } from "./ui.js";

const tools = document.getElementById("upload-tools");
const panel = document.getElementById("upload-panel");
const input = document.getElementById("file-input");
const folderInput = document.getElementById("folder-input");
const list = document.getElementById("upload-list");
const announcer = document.getElementById("upload-announcer");
const alerts = document.getElementById("upload-alerts");
const clearFinished = document.getElementById("clear-finished");
const collapse = document.getElementById("upload-collapse");
const dockBody = document.getElementById("upload-dock-body");
const summary = document.getElementById("upload-summary");
const usage = document.getElementById("usage");
const roomText = document.getElementById("room");

const MAX_BYTES = Number(tools.dataset.maxBytes) || Infinity;
const TUS_THRESHOLD = Number(tools.dataset.tusThreshold) || 16 * 1024 * 1024;
const TUS_CHUNK = Number(tools.dataset.tusChunk) || 32 * 1024 * 1024;
const PARALLEL = 3;
const RENDER_EVERY_MS = 200;
const SPEED_WINDOW_MS = 4000;
const STALLED_MS = 3000;
const tus = window.tus;
// Stored upload URLs are per user and per site: another person on this browser never resumes
// into someone else's upload.
const FINGERPRINT_PREFIX = `filebay/${me.username || "-"}/${window.location.host}/`;

const uploads = new Set();
// What fits now: the server's size limit, or what is left of the quota when that is less.
let room = Number(tools.dataset.room);
if (!Number.isFinite(room)) room = MAX_BYTES;
let quotaLeft = room < MAX_BYTES ? room : Infinity;
// The file manager says where uploads go and hears when one is stored.
let targetOf = () => ({ id: "", name: "this folder" });
const listeners = [];

export function setUploadTarget(fn) {
  targetOf = fn;
}

export function onUploaded(fn) {
  listeners.push(fn);
}

function announce(text) {
  announcer.textContent = text;
}

function alertNow(text) {
  // Errors interrupt (assertive); progress news waits its turn (polite).
  alerts.textContent = "";
  window.setTimeout(() => { alerts.textContent = text; }, 50);
}

function fingerprint(file, folderId, relativePath) {
  return `${FINGERPRINT_PREFIX}${folderId || "root"}/${relativePath || file.name}/${file.type}/${file.size}/${file.lastModified}`;
}

const STATES = {
  queued: "Waiting…",
  uploading: "Uploading…",
  finishing: "Finishing…",
  offline: "Connection lost: continues when the network is back.",
  done: "Uploaded.",
  canceled: "Canceled.",
};

class Upload {
  constructor(file, relativePath, target) {
    this.file = file;
    this.relativePath = relativePath || "";
    this.folderId = target.id || "";
    this.nested = this.relativePath.includes("/");
    // Inside a folder: tus carries relativePath, so the server makes the folders.
    this.resumable = Boolean(tus && tus.isSupported) && (file.size > TUS_THRESHOLD || this.nested);
    this.final = false;
    this.state = "queued";
    this.sent = 0;
    this.samples = [];
    this.lastRender = 0;
    this.tus = null;
    this.xhr = null;
    this.message = "";
    this.card = this.render();
    list.prepend(this.card);
    uploads.add(this);
  }

  render() {
    const name = this.relativePath || this.file.name;
    this.bar = h("div", { class: "progress-bar" });
    this.progress = h("div", {
      class: "progress mt-1",
      role: "progressbar",
      "aria-label": `Upload of ${name}`,
      "aria-valuemin": "0",
      "aria-valuemax": "100",
      "aria-valuenow": "0",
    }, this.bar);
    this.statusLine = h("div", { class: "small text-body-secondary mt-1 upload-status" });
    this.cancelButton = h("button", {
      class: "btn btn-sm btn-outline-secondary upload-cancel", type: "button",
      "aria-label": `Cancel upload of ${name}`, title: "Cancel", onclick: () => this.cancel(),
    }, icon("bi-x-lg"), h("span", { class: "d-none d-md-inline" }, " Cancel"));
    this.retryButton = h("button", {
      class: "btn btn-sm btn-outline-primary upload-retry d-none", type: "button",
      "aria-label": `Retry upload of ${name}`, title: "Retry", onclick: () => this.retry(),
    }, icon("bi-arrow-clockwise"), h("span", { class: "d-none d-md-inline" }, " Retry"));
    this.dismissButton = h("button", {
      class: "btn btn-sm btn-outline-secondary upload-dismiss d-none", type: "button",
      "aria-label": `Remove ${name} from this list`, title: "Remove from list", onclick: () => this.dismiss(),
    }, icon("bi-x-lg"));
    return h("li", { class: "card upload-card mb-2", "data-state": this.state, "data-name": name },
      h("div", { class: "card-body py-2 px-3" },
        h("div", { class: "d-flex align-items-center gap-3" },
          icon(fileIcon(this.file.type, name), "file-icon text-body-secondary"),
          h("div", { class: "flex-grow-1 min-w-0" },
            h("div", { class: "d-flex gap-2 align-items-baseline" },
              h("span", { class: "upload-name fw-medium flex-grow-1", title: name }, name),
              h("span", { class: "small text-body-secondary text-nowrap" },
                humanSize(this.file.size),
                this.resumable ? h("span", { class: "d-none d-sm-inline" }, " · resumable") : null)),
            this.progress,
            this.statusLine),
          h("div", { class: "d-flex gap-1 flex-shrink-0" }, this.retryButton, this.cancelButton, this.dismissButton))));
  }

  setState(state, message = "") {
    this.state = state;
    this.message = message;
    this.card.dataset.state = state;
    const active = ["queued", "uploading", "finishing", "offline"].includes(state);
    this.cancelButton.classList.toggle("d-none", !active);
    // A retry that cannot succeed (too large, no quota left) is not offered.
    this.retryButton.classList.toggle("d-none", !["error", "canceled"].includes(state) || this.final);
    this.dismissButton.classList.toggle("d-none", active);
    this.bar.classList.toggle("bg-success", state === "done");
    this.bar.classList.toggle("bg-danger", state === "error");
    this.bar.classList.toggle("bg-secondary", state === "canceled" || state === "offline");
    this.bar.classList.toggle("progress-bar-striped", state === "finishing" || state === "offline");
    this.bar.classList.toggle("progress-bar-animated", state === "finishing");
    if (state === "done") this.setPercent(100);
    this.paint(true);
    updateToolbar();
  }

  setPercent(percent) {
    const value = Math.max(0, Math.min(100, percent));
    this.bar.style.width = `${value}%`;
    this.progress.setAttribute("aria-valuenow", String(Math.round(value)));
  }

  onProgress(sent, total) {
    const now = performance.now();
    const last = this.samples[this.samples.length - 1];
    if (last && sent < last[1]) this.samples = []; // resumed from the server's offset
    this.sent = sent;
    this.samples.push([now, sent]);
    if (sent >= total && this.state === "uploading") {
      this.setState("finishing"); // every byte is sent; the server hashes and stores
      return;
    }
    this.paint(false);
  }

  /** Bytes per second over the last few seconds; it falls to 0 while nothing moves. */
  speed() {
    const now = performance.now();
    while (this.samples.length > 1 && now - this.samples[0][0] > SPEED_WINDOW_MS) this.samples.shift();
    if (this.samples.length < 2) return 0;
    const [t0, b0] = this.samples[0];
    const b1 = this.samples[this.samples.length - 1][1];
    return now - t0 > 300 ? ((b1 - b0) * 1000) / (now - t0) : 0;
  }

  paint(force) {
    const now = performance.now();
    if (!force && now - this.lastRender < RENDER_EVERY_MS) return;
    this.lastRender = now;
    const size = this.file.size;
    const percent = size ? (100 * this.sent) / size : (this.state === "done" ? 100 : 0);
    if (this.state !== "done") this.setPercent(percent);
    const valueText = `${Math.round(percent)}% of ${humanSize(size)}`;
    this.progress.setAttribute("aria-valuetext", valueText);
    let text = this.message || STATES[this.state] || "";
    if (this.state === "uploading") {
      const rate = this.speed();
      const parts = [`${humanSize(this.sent)} of ${humanSize(size)}`];
      const last = this.samples[this.samples.length - 1];
      if (!navigator.onLine) parts.push("offline: continues when the network is back");
      else if (last && performance.now() - last[0] > STALLED_MS) parts.push("stalled");
      else if (rate > 0) {
        parts.push(humanRate(rate));
        parts.push(`${duration((size - this.sent) / rate)} left`);
      }
      text = parts.join(" · ");
    }
    this.statusLine.textContent = text;
    this.statusLine.classList.toggle("text-danger", this.state === "error");
    this.statusLine.classList.toggle("text-body-secondary", this.state !== "error");
  }

  start() {
    this.samples = [];
    if (this.file.size > MAX_BYTES) {
      this.fail(`Too large: the server accepts files up to ${humanSize(MAX_BYTES)}.`, { final: true });
      return;
    }
    if (this.file.size > quotaLeft) {
      this.fail(quotaMessage(this.file.size), { final: true });
      return;
    }
    this.setState("uploading");
    if (this.resumable) this.startTus();
    else this.startPost();
  }

  // Small files: one multipart POST, progress from the XHR upload events.
  startPost() {
    const xhr = new XMLHttpRequest();
    this.xhr = xhr;
    const form = new FormData();
    form.append("file", this.file, this.file.name);
    const query = this.folderId ? `?folder_id=${encodeURIComponent(this.folderId)}` : "";
    xhr.open("POST", `${bases.upload}/api/files${query}`);
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.upload.addEventListener("progress", (event) => {
      // The body is the file plus the multipart framing: scale to the file's bytes.
      if (event.lengthComputable && event.total) this.onProgress((event.loaded / event.total) * this.file.size, this.file.size);
    });
    xhr.addEventListener("load", () => {
      this.xhr = null;
      if (xhr.status === 201) {
        const record = JSON.parse(xhr.responseText).files[0];
        this.finish(record);
      } else {
        this.failWith(errorFromBody(xhr.status, xhr.responseText, xhr.statusText));
      }
    });
    xhr.addEventListener("error", () => {
      this.xhr = null;
      if (!navigator.onLine) this.waitForNetwork(() => this.start());
      else this.fail(describeError({ status: 0 }));
    });
    xhr.send(form);
  }

  // Large files: tus, resumable from where the server says it stopped.
  async startTus() {
    if (!this.tus) {
      this.tus = new tus.Upload(this.file, {
        endpoint: `${bases.upload}/api/tus/`,
        chunkSize: TUS_CHUNK,
        retryDelays: [0, 1000, 3000, 5000, 10000],
        metadata: this.metadata(),
        fingerprint: (file) => Promise.resolve(fingerprint(file, this.folderId, this.relativePath)),
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: true,
        onBeforeRequest: (req) => {
          req.setHeader("X-CSRF-Token", csrfToken());
          const xhr = req.getUnderlyingObject();
          if (xhr && "withCredentials" in xhr) xhr.withCredentials = true;
        },
        onProgress: (sent, total) => {
          if (this.state === "offline") this.setState("uploading");
          this.onProgress(sent, total);
        },
        onSuccess: () => this.tusDone(),
        onError: (error) => this.tusError(error),
      });
      try {
        const previous = await this.tus.findPreviousUploads();
        if (previous.length) {
          this.tus.resumeFromPreviousUpload(previous[0]);
          this.message = "Resuming where it stopped…";
          this.paint(true);
          this.message = "";
        }
      } catch { /* no storage: start afresh */ }
      if (this.state !== "uploading") return; // canceled meanwhile
    }
    this.tus.start();
    refreshInterrupted();
  }

  async tusDone() {
    const id = this.tus.url.split("/").filter(Boolean).pop();
    this.setState("finishing");
    try {
      this.finish(await api(bases.metadata, `/api/files/${encodeURIComponent(id)}`));
    } catch (error) {
      this.fail(`Uploaded, but the list could not be updated: ${describeError(error)}`);
    }
    refreshInterrupted();
  }

  tusError(error) {
    if (this.state === "canceled") return;
    if (!navigator.onLine) {
      this.waitForNetwork(() => {
        this.setState("uploading");
        this.tus.start();
      });
      return;
    }
    const response = error.originalResponse;
    if (!response) {
      this.fail(describeError({ status: 0 }));
      return;
    }
    this.failWith(errorFromBody(response.getStatus(), response.getBody() || ""));
  }

  metadata() {
    const data = { filename: this.file.name, filetype: this.file.type || "application/octet-stream" };
    if (this.folderId) data.folder_id = this.folderId;
    if (this.nested) data.relativePath = this.relativePath;
    return data;
  }

  async failWith(apiError) {
    if (apiError.status === 413 && apiError.code === "quota_exceeded") {
      await refreshUsage();
      this.fail(quotaMessage(this.file.size), { final: true });
      return;
    }
    this.fail(describeError(apiError, { limit: humanSize(MAX_BYTES) }), { final: apiError.status === 413 });
  }

  waitForNetwork(resume) {
    this.setState("offline");
    const onOnline = () => {
      window.removeEventListener("online", onOnline);
      this.resumeOnline = null;
      if (this.state === "offline") resume();
    };
    this.resumeOnline = onOnline;
    window.addEventListener("online", onOnline);
  }

  finish(record) {
    this.setState("done");
    announce(`${this.file.name} uploaded.`);
    for (const fn of listeners) fn(record, { folderId: this.folderId, relativePath: this.relativePath });
    refreshUsage();
    pump();
  }

  fail(message, { final = false } = {}) {
    this.final = final;
    this.setState("error", message);
    alertNow(`Upload of ${this.file.name} failed: ${message}`);
    pump();
  }

  cancel() {
    this.setState("canceled");
    if (this.resumeOnline) window.removeEventListener("online", this.resumeOnline);
    if (this.xhr) this.xhr.abort();
    if (this.tus) {
      // Also deletes what the server kept, and forgets the stored URL.
      this.tus.abort(true).catch(() => {}).finally(refreshInterrupted);
      this.tus = null;
    }
    announce(`${this.file.name} canceled.`);
    pump();
  }

  retry() {
    this.final = false;
    this.setState("queued");
    pump();
  }

  dismiss() {
    uploads.delete(this);
    this.card.remove();
    updateToolbar();
    (list.querySelector(".upload-dismiss:not(.d-none), .upload-cancel:not(.d-none)") || collapse).focus();
  }
}

function quotaMessage(size) {
  const left = Number.isFinite(quotaLeft) ? humanSize(quotaLeft) : "no room";
  return `Not enough space: ${humanSize(size)} does not fit in what is left of your quota (${left}). Delete files or ask the admin for more.`;
}

function running() {
  return [...uploads].filter((u) => ["uploading", "finishing", "offline"].includes(u.state)).length;
}

function pump() {
  for (const upload of [...uploads].reverse()) {
    if (running() >= PARALLEL) break;
    if (upload.state === "queued") upload.start();
  }
  updateToolbar();
}

let wasBusy = false;

function updateToolbar() {
  const all = [...uploads];
  // When every upload has ended well, the panel folds to its header (the summary stays), so
  // it no longer covers the files; a failed or canceled one keeps it open (Retry is there).
  const busy = all.some((u) => ["queued", "uploading", "finishing", "offline"].includes(u.state));
  if (wasBusy && !busy && all.every((u) => u.state === "done")) setCollapsed(true);
  wasBusy = busy;
  const finished = all.some((u) => u.state === "done");
  clearFinished.classList.toggle("d-none", !finished);
  const done = all.filter((u) => u.state === "done").length;
  const failed = all.filter((u) => u.state === "error").length;
  summary.textContent = all.length ? `(${done} of ${all.length} done${failed ? `, ${failed} failed` : ""})` : "";
  showPanel();
}

function showPanel() {
  const interrupted = !document.getElementById("interrupted").classList.contains("d-none");
  panel.classList.toggle("d-none", uploads.size === 0 && !interrupted);
}

/** Upload `items` ([{file, relativePath}]) into the folder on view now. */
export function addFiles(items) {
  const chosen = [...items];
  if (!chosen.length) return;
  const target = targetOf();
  for (const { file, relativePath } of chosen) new Upload(file, relativePath, target);
  setCollapsed(false);
  const what = chosen.length === 1 ? (chosen[0].relativePath || chosen[0].file.name) : `${chosen.length} files`;
  announce(`Uploading ${what} into ${target.name}.`);
  pump();
}

async function refreshUsage() {
  try {
    const who = await api(bases.auth, "/api/me");
    const used = humanSize(who.used_bytes);
    if (who.quota_bytes === null || who.quota_bytes === undefined) {
      quotaLeft = Infinity;
      usage.textContent = `${used} stored.`;
    } else {
      quotaLeft = Math.max(0, who.quota_bytes - who.used_bytes);
      usage.textContent = `${used} of your ${humanSize(who.quota_bytes)} quota used.`;
    }
    room = Math.min(MAX_BYTES, quotaLeft);
    roomText.textContent = humanSize(room);
  } catch {
    usage.textContent = "";
  }
}

function setCollapsed(collapsed) {
  dockBody.classList.toggle("d-none", collapsed);
  collapse.setAttribute("aria-expanded", String(!collapsed));
  collapse.querySelector(".bi").className = `bi ${collapsed ? "bi-chevron-up" : "bi-chevron-down"}`;
}

// Uploads that stopped with the page (reload, closed tab): offer to continue them.
async function refreshInterrupted() {
  const box = document.getElementById("interrupted");
  const items = document.getElementById("interrupted-list");
  if (!tus || !tus.defaultOptions.urlStorage.findAllUploads) return;
  let stored = [];
  try {
    stored = await tus.defaultOptions.urlStorage.findAllUploads();
  } catch {
    return;
  }
  const active = new Set([...uploads].filter((u) => u.tus && u.state !== "done").map((u) => u.tus.url));
  const mine = stored.filter((entry) => entry.urlStorageKey.startsWith(`tus::${FINGERPRINT_PREFIX}`)
    && !active.has(entry.uploadUrl));
  items.replaceChildren(...mine.map((entry) => {
    const name = (entry.metadata && entry.metadata.filename) || "a file";
    const forget = h("button", {
      class: "btn btn-sm btn-link p-0 ms-2", type: "button", "aria-label": `Discard the unfinished upload of ${name}`,
      onclick: async () => {
        await tus.Upload.terminate(entry.uploadUrl, {
          onBeforeRequest: (req) => req.setHeader("X-CSRF-Token", csrfToken()),
        }).catch(() => {});
        await tus.defaultOptions.urlStorage.removeUpload(entry.urlStorageKey);
        refreshInterrupted();
      },
    }, "Discard");
    return h("li", { class: "small" }, icon("bi-file-earmark"), " ", h("strong", { class: "text-break" }, name),
      ` (${humanSize(entry.size)})`, forget);
  }));
  box.classList.toggle("d-none", mine.length === 0);
  showPanel();
}

// The pickers: plain files, and a whole folder (its structure kept).
input.addEventListener("change", () => {
  addFiles([...input.files].map((file) => ({ file, relativePath: "" })));
  input.value = "";
});
folderInput.addEventListener("change", () => {
  addFiles([...folderInput.files].map((file) => ({ file, relativePath: file.webkitRelativePath || "" })));
  folderInput.value = "";
});
collapse.addEventListener("click", () => setCollapsed(collapse.getAttribute("aria-expanded") === "true"));

// Drag and drop anywhere on the page. Only drags that carry files from outside the page:
// the file manager's own drags (moves) carry entries, not files.
let dragDepth = 0;
const carriesFiles = (event) => Array.from(event.dataTransfer ? event.dataTransfer.types : []).includes("Files");
document.addEventListener("dragenter", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth += 1;
  document.getElementById("drop-target-name").textContent = targetOf().name;
  document.body.classList.add("is-dragging");
});
document.addEventListener("dragover", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "copy";
});
document.addEventListener("dragleave", (event) => {
  if (!carriesFiles(event)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) document.body.classList.remove("is-dragging");
});
document.addEventListener("drop", async (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth = 0;
  document.body.classList.remove("is-dragging");
  addFiles(await droppedFiles(event.dataTransfer));
});

/** Files and folders of a drop, as [{file, relativePath}]; folders are walked (structure kept). */
async function droppedFiles(data) {
  const items = data.items ? [...data.items].filter((item) => item.kind === "file") : [];
  // Entries must be taken now: the DataTransfer is emptied once the handler returns.
  const entries = items.map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null));
  if (!entries.some((entry) => entry && entry.isDirectory)) {
    return [...data.files].map((file) => ({ file, relativePath: "" }));
  }
  const found = [];
  const files = [...data.files];
  await Promise.all(entries.map(async (entry, i) => {
    if (!entry) {
      if (files[i]) found.push({ file: files[i], relativePath: "" });
      return;
    }
    await walk(entry, found);
  }));
  return found;
}

async function walk(entry, found) {
  if (entry.isFile) {
    try {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      const path = entry.fullPath.replace(/^\/+/, "");
      found.push({ file, relativePath: path.includes("/") ? path : "" });
    } catch { /* unreadable: skipped */ }
    return;
  }
  const reader = entry.createReader();
  for (;;) {
    // readEntries answers in batches (100 in Chromium) until an empty one.
    const batch = await new Promise((resolve) => reader.readEntries(resolve, () => resolve([])));
    if (!batch.length) break;
    for (const child of batch) await walk(child, found);
  }
}

clearFinished.addEventListener("click", () => {
  for (const upload of [...uploads]) if (upload.state === "done") upload.dismiss();
  collapse.focus();
});

// Leaving the page loses a multipart upload (a tus one resumes): ask first.
window.addEventListener("beforeunload", (event) => {
  if ([...uploads].some((u) => ["uploading", "finishing"].includes(u.state) && !u.resumable)) {
    event.preventDefault();
    event.returnValue = "";
  }
});

// Speed and time left go on changing while no bytes move; the network can come and go.
const repaint = () => {
  for (const upload of uploads) if (upload.state === "uploading") upload.paint(true);
};
window.setInterval(repaint, 1000);
window.addEventListener("offline", repaint);
window.addEventListener("online", repaint);

document.addEventListener("filebay:changed", refreshUsage);
refreshUsage();
refreshInterrupted();

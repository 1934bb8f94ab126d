// The upload panel: drop files anywhere on the page or pick them; one card per file with
// progress, speed, time left, cancel and retry. Small files go in one multipart POST;
// files above the threshold go through tus (tus-js-client), which resumes after a dropped
// connection and, from the fingerprint it keeps in localStorage, after a page reload.
import { api, bases, describeError, errorFromBody, me } from "./api.js";
import { fileList } from "./files.js";
import { duration, fileIcon, humanRate, humanSize } from "./format.js";
import { csrfToken } from "./session.js";
import { h, icon, toast } from "./ui.js";

const panel = document.getElementById("upload-panel");
const input = document.getElementById("file-input");
const chooser = document.getElementById("choose-files");
const dropZone = document.getElementById("drop-zone");
const list = document.getElementById("upload-list");
const announcer = document.getElementById("upload-announcer");
const clearFinished = document.getElementById("clear-finished");
const usage = document.getElementById("usage");
const badge = document.getElementById("new-files-badge");
const filesTab = document.getElementById("files-tab");

const MAX_BYTES = Number(panel.dataset.maxBytes) || Infinity;
const TUS_THRESHOLD = Number(panel.dataset.tusThreshold) || 16 * 1024 * 1024;
const TUS_CHUNK = Number(panel.dataset.tusChunk) || 32 * 1024 * 1024;
const PARALLEL = 3;
const RENDER_EVERY_MS = 200;
const SPEED_WINDOW_MS = 4000;
const STALLED_MS = 3000;
const tus = window.tus;
// Stored upload URLs are per user and per site: another person on this browser never resumes
// into someone else's upload.
const FINGERPRINT_PREFIX = `filebay/${me.username || "-"}/${window.location.host}/`;

const uploads = new Set();
let newFiles = 0;

function announce(text) {
  announcer.textContent = text;
}

function fingerprint(file) {
  return `${FINGERPRINT_PREFIX}${file.name}/${file.type}/${file.size}/${file.lastModified}`;
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
  constructor(file) {
    this.file = file;
    this.resumable = Boolean(tus && tus.isSupported) && file.size > TUS_THRESHOLD;
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
    const name = this.file.name;
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
    this.retryButton.classList.toggle("d-none", !["error", "canceled"].includes(state));
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
      this.fail(`Too large: the server accepts files up to ${humanSize(MAX_BYTES)}.`);
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
    xhr.open("POST", `${bases.upload}/api/files`);
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
        this.fail(describeError(errorFromBody(xhr.status, xhr.responseText, xhr.statusText), { limit: humanSize(MAX_BYTES) }));
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
        metadata: { filename: this.file.name, filetype: this.file.type || "application/octet-stream" },
        fingerprint: (file) => Promise.resolve(fingerprint(file)),
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
    const apiError = errorFromBody(response.getStatus(), response.getBody() || "");
    this.fail(describeError(apiError, { limit: humanSize(MAX_BYTES) }));
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
    filesAdded([record]);
    pump();
  }

  fail(message) {
    this.setState("error", message);
    announce(`${this.file.name} failed: ${message}`);
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
    this.setState("queued");
    pump();
  }

  dismiss() {
    uploads.delete(this);
    this.card.remove();
    updateToolbar();
    chooser.focus();
  }
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

function updateToolbar() {
  const finished = [...uploads].some((u) => u.state === "done");
  clearFinished.classList.toggle("d-none", !finished);
}

function addFiles(files) {
  const chosen = [...files];
  if (!chosen.length) return;
  for (const file of chosen) new Upload(file);
  announce(chosen.length === 1 ? `Uploading ${chosen[0].name}.` : `Uploading ${chosen.length} files.`);
  pump();
}

function filesAdded(records) {
  if (fileList) fileList.added(records);
  if (!filesTab.classList.contains("active")) {
    newFiles += records.length;
    badge.querySelector(".badge-count").textContent = String(newFiles);
    badge.classList.remove("d-none");
  }
  refreshUsage();
}

async function refreshUsage() {
  try {
    const who = await api(bases.auth, "/api/me");
    const used = humanSize(who.used_bytes);
    usage.textContent = who.quota_bytes === null || who.quota_bytes === undefined
      ? `${used} stored.`
      : `${used} of your ${humanSize(who.quota_bytes)} quota used.`;
  } catch {
    usage.textContent = "";
  }
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
}

// The file picker
chooser.disabled = false;
chooser.addEventListener("click", (event) => {
  event.stopPropagation();
  input.click();
});
dropZone.addEventListener("click", (event) => {
  if (event.target === dropZone || !event.target.closest("button, a, input")) input.click();
});
input.addEventListener("change", () => {
  addFiles(input.files);
  input.value = "";
});

// Drag and drop anywhere on the page
let dragDepth = 0;
const carriesFiles = (event) => Array.from(event.dataTransfer ? event.dataTransfer.types : []).includes("Files");
document.addEventListener("dragenter", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth += 1;
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
document.addEventListener("drop", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth = 0;
  document.body.classList.remove("is-dragging");
  const files = [];
  const items = event.dataTransfer.items ? [...event.dataTransfer.items] : [];
  let folders = 0;
  [...event.dataTransfer.files].forEach((file, i) => {
    const entry = items[i] && items[i].webkitGetAsEntry ? items[i].webkitGetAsEntry() : null;
    if (entry && entry.isDirectory) folders += 1;
    else files.push(file);
  });
  if (folders) toast("Folders are not uploaded: drop the files inside them.", { variant: "danger" });
  addFiles(files);
});

clearFinished.addEventListener("click", () => {
  for (const upload of [...uploads]) if (upload.state === "done") upload.dismiss();
  chooser.focus();
});

// The "Uploaded files" tab: a badge counts what arrived while it was hidden.
filesTab.addEventListener("shown.bs.tab", () => {
  newFiles = 0;
  badge.classList.add("d-none");
  window.history.replaceState(window.history.state, "", "#files");
});
document.getElementById("upload-tab").addEventListener("shown.bs.tab", () => {
  const url = new URL(window.location.href);
  url.hash = "";
  window.history.replaceState(window.history.state, "", url);
});
if (window.location.hash === "#files") window.bootstrap.Tab.getOrCreateInstance(filesTab).show();

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

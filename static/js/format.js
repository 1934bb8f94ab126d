// Sizes, times, durations and file-type icons, as people read them.
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function humanSize(bytes) {
  let value = Number(bytes) || 0;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

export function humanRate(bytesPerSecond) {
  return `${humanSize(bytesPerSecond)}/s`;
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const STEPS = [
  [60, "second"],
  [60, "minute"],
  [24, "hour"],
  [7, "day"],
  [4.34524, "week"],
  [12, "month"],
  [Infinity, "year"],
];

export function relativeTime(date, now = Date.now()) {
  let amount = (date.getTime() - now) / 1000;
  if (Math.abs(amount) < 45) return "just now";
  for (const [size, unit] of STEPS) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit);
    amount /= size;
  }
  return date.toISOString();
}

const exact = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function exactTime(date) {
  return exact.format(date);
}

function baseType(contentType) {
  return (contentType || "").split(";")[0].trim().toLowerCase();
}

function extension(name) {
  const dot = (name || "").lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
}

const TEXT_EXTENSIONS = new Set([
  "txt", "md", "markdown", "log", "csv", "tsv", "json", "yaml", "yml", "toml", "ini", "cfg",
  "conf", "xml", "html", "css", "js", "mjs", "ts", "py", "rb", "go", "rs", "java", "c", "h",
  "cpp", "sh", "sql", "diff", "patch",
]);
const ARCHIVES = new Set(["zip", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "tar"]);
// The types the download service serves inline (see filebay/web/disposition.py).
const INLINE_IMAGES = new Set([
  "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp",
]);

/** How a file can be previewed: "image", "pdf", "audio", "video", "text", or null. */
export function previewKind(contentType, name) {
  const type = baseType(contentType);
  if (INLINE_IMAGES.has(type)) return "image";
  if (type === "application/pdf") return "pdf";
  if (type.startsWith("audio/")) return "audio";
  if (type.startsWith("video/")) return "video";
  // Text is fetched and shown with textContent, so any textual type is safe to show.
  if (type.startsWith("text/") || type === "application/json" || type.endsWith("+json")
      || type === "application/xml" || type.endsWith("+xml") || type === "application/javascript"
      || TEXT_EXTENSIONS.has(extension(name))) return "text";
  return null;
}

export function fileIcon(contentType, name) {
  const type = baseType(contentType);
  const ext = extension(name);
  if (type.startsWith("image/")) return "bi-file-earmark-image";
  if (type === "application/pdf") return "bi-file-earmark-pdf";
  if (type.startsWith("audio/")) return "bi-file-earmark-music";
  if (type.startsWith("video/")) return "bi-file-earmark-play";
  if (ARCHIVES.has(ext) || type.includes("zip") || type.includes("compressed")) return "bi-file-earmark-zip";
  if (["xls", "xlsx", "ods", "csv", "tsv"].includes(ext)) return "bi-file-earmark-spreadsheet";
  if (["doc", "docx", "odt", "rtf"].includes(ext)) return "bi-file-earmark-richtext";
  if (["ppt", "pptx", "odp", "key"].includes(ext)) return "bi-file-earmark-slides";
  if (["js", "mjs", "ts", "py", "rb", "go", "rs", "java", "c", "h", "cpp", "sh", "html", "css", "json", "xml", "sql"].includes(ext)) {
    return "bi-file-earmark-code";
  }
  if (previewKind(contentType, name) === "text") return "bi-file-earmark-text";
  return "bi-file-earmark";
}

/** Every <time data-relative> under `root` says how long ago (or until) in words, with the
 * exact time on hover. */
export function refreshTimes(root = document) {
  for (const node of root.querySelectorAll("time[data-relative]")) {
    const date = new Date(node.dateTime);
    if (Number.isNaN(date.getTime())) continue;
    node.textContent = relativeTime(date);
    node.title = exactTime(date);
  }
}

let clock = 0;

/** Keep relative times true while the page stays open: "just now" must not stay "just now"
 * next to a row uploaded ten minutes later. One timer per page. */
export function startClock() {
  refreshTimes();
  if (!clock) clock = window.setInterval(() => refreshTimes(), 15_000);
}

/** A <time> element showing `iso` relative to now, exact on hover, kept fresh by startClock. */
export function timeNode(h, iso) {
  const date = new Date(iso);
  return h("time", { datetime: iso, title: exactTime(date), "data-relative": true }, relativeTime(date));
}

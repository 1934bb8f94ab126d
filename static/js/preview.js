// The preview modal: images, PDF, audio and video from the content URL with ?inline=1
// (the server answers inline only for types that cannot run script); text is fetched and
// shown with textContent, so any textual file can be read safely.
import { humanSize, previewKind } from "./format.js";
import { h } from "./ui.js";

const TEXT_LIMIT = 256 * 1024;

const modalNode = document.getElementById("preview-modal");
const body = document.getElementById("preview-body");
const title = document.getElementById("preview-title");
const meta = document.getElementById("preview-meta");
const download = document.getElementById("preview-download");
let controller = null;

if (modalNode) {
  modalNode.addEventListener("hidden.bs.modal", () => {
    // Stops audio and video, and frees the image or document.
    if (controller) controller.abort();
    body.replaceChildren();
  });
}

function message(text) {
  return h("p", { class: "text-body-secondary mb-0" }, text);
}

async function loadText(url, record, signal) {
  const pre = h("pre", { class: "preview-text", tabindex: "0", "aria-label": `Text of ${record.name}` }, "Loading…");
  body.replaceChildren(pre);
  try {
    const response = await fetch(url, {
      credentials: "include",
      headers: { Range: `bytes=0-${TEXT_LIMIT - 1}` },
      signal,
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    pre.textContent = new TextDecoder("utf-8").decode(bytes);
    if (record.size > bytes.length) {
      body.append(h("p", { class: "small text-body-secondary mt-2 mb-0 w-100" },
        `Showing the first ${humanSize(bytes.length)} of ${humanSize(record.size)}. Download the file to see all of it.`));
    }
  } catch (error) {
    if (error.name !== "AbortError") body.replaceChildren(message(`The text could not be loaded (${error.message}).`));
  }
}

/** Show `record` in the modal; `urls` are its {inline, download} content URLs. */
export function openPreview(record, urls) {
  const kind = previewKind(record.content_type, record.name);
  if (controller) controller.abort();
  controller = new AbortController();
  title.textContent = record.name;
  meta.textContent = `${record.content_type} · ${humanSize(record.size)}`;
  download.href = urls.download;
  const failed = () => body.replaceChildren(message("This file could not be shown. Download it instead."));
  let node;
  switch (kind) {
    case "image":
      node = h("img", { class: "preview-image", src: urls.inline, alt: record.name, onerror: failed });
      break;
    case "pdf":
      node = h("iframe", { class: "preview-frame", src: urls.inline, title: `PDF: ${record.name}` });
      break;
    case "audio":
      node = h("audio", { class: "w-100", src: urls.inline, controls: true, preload: "metadata", onerror: failed });
      break;
    case "video":
      node = h("video", { class: "preview-video", src: urls.inline, controls: true, preload: "metadata", onerror: failed });
      break;
    case "text":
      loadText(urls.download, record, controller.signal);
      break;
    default:
      node = message("There is no preview for this type of file.");
  }
  if (node) body.replaceChildren(node);
  window.bootstrap.Modal.getOrCreateInstance(modalNode).show();
}

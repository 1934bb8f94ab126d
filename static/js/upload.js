// Upload the chosen files with a progress bar, then reload the list.
import { csrfToken } from "./session.js";

const form = document.getElementById("upload-form");
const input = document.getElementById("file-input");
const progress = document.getElementById("upload-progress");
const bar = document.getElementById("upload-bar");
const status = document.getElementById("upload-status");

function setProgress(percent) {
  bar.style.width = `${percent}%`;
  progress.setAttribute("aria-valuenow", String(Math.round(percent)));
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!input.files.length) return;
  const data = new FormData();
  for (const file of input.files) data.append("file", file, file.name);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", form.action);
  xhr.setRequestHeader("X-CSRF-Token", csrfToken());
  xhr.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) setProgress((100 * e.loaded) / e.total);
  });
  xhr.addEventListener("load", () => {
    if (xhr.status === 201) {
      status.textContent = "Uploaded.";
      window.location.reload();
    } else {
      let detail = xhr.statusText;
      try { detail = JSON.parse(xhr.responseText).detail; } catch { /* not JSON */ }
      status.textContent = `Upload failed (${xhr.status}): ${detail}`;
    }
  });
  xhr.addEventListener("error", () => { status.textContent = "Upload failed: network error."; });
  progress.classList.remove("d-none");
  setProgress(0);
  status.textContent = "Uploading…";
  xhr.send(data);
});

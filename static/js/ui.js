// Small DOM helpers shared by the pages: element building (text only, never HTML),
// notices (Bootstrap toasts), a confirmation dialog and copying to the clipboard.

/**
 * h("button", {class: "btn", type: "button", onclick: fn}, "Label", child)
 * Strings become text nodes, so data from the server is never parsed as HTML.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function icon(name, extra = "") {
  return h("i", { class: `bi ${name}${extra ? ` ${extra}` : ""}`, "aria-hidden": "true" });
}

const toasts = document.getElementById("toasts");

export function toast(message, { variant = "success", delay = 4000 } = {}) {
  if (!toasts) return;
  const symbol = variant === "danger" ? "bi-exclamation-triangle-fill" : "bi-check-circle-fill";
  const body = h("div", { class: "toast-body d-flex align-items-start gap-2" },
    icon(symbol, `text-${variant}`), h("span", { class: "flex-grow-1" }, message),
    h("button", { type: "button", class: "btn-close", "data-bs-dismiss": "toast", "aria-label": "Close" }));
  const node = h("div", {
    class: "toast align-items-center",
    role: variant === "danger" ? "alert" : "status",
    "aria-atomic": "true",
  }, body);
  toasts.append(node);
  const instance = window.bootstrap.Toast.getOrCreateInstance(node, { delay, autohide: variant !== "danger" });
  node.addEventListener("hidden.bs.toast", () => node.remove());
  instance.show();
}

const confirmModal = document.getElementById("confirm-modal");

/** Resolves true when the person confirms. `body` is text or a node. */
export function confirmDialog({ title, body, confirmLabel = "Delete", variant = "danger" }) {
  const modal = window.bootstrap.Modal.getOrCreateInstance(confirmModal);
  confirmModal.querySelector("#confirm-title").textContent = title;
  const bodyNode = confirmModal.querySelector("#confirm-body");
  bodyNode.replaceChildren(body instanceof Node ? body : h("p", { class: "mb-0" }, body));
  const ok = confirmModal.querySelector("#confirm-ok");
  ok.textContent = confirmLabel;
  ok.className = `btn btn-${variant}`;
  return new Promise((resolve) => {
    let confirmed = false;
    const onOk = () => {
      confirmed = true;
      modal.hide();
    };
    const onShown = () => ok.focus();
    const onHidden = () => {
      ok.removeEventListener("click", onOk);
      confirmModal.removeEventListener("shown.bs.modal", onShown);
      resolve(confirmed);
    };
    ok.addEventListener("click", onOk);
    confirmModal.addEventListener("shown.bs.modal", onShown, { once: true });
    confirmModal.addEventListener("hidden.bs.modal", onHidden, { once: true });
    modal.show();
  });
}

/** Copy text; falls back to a selected field where the Clipboard API is missing (plain HTTP). */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch { /* denied: try the old way */ }
  }
  const field = h("textarea", { class: "visually-hidden", readonly: true });
  field.value = text;
  document.body.append(field);
  field.select();
  let done = false;
  try {
    done = document.execCommand("copy");
  } catch { /* not supported */ }
  field.remove();
  return done;
}

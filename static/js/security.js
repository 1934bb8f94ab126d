// The account's security page: turning two-step login (TOTP) on and off.
import { api, bases, describeError } from "./api.js";

const section = document.getElementById("totp-section");
const status = document.getElementById("totp-status");
const enableButton = document.getElementById("totp-enable");
const enrol = document.getElementById("totp-enrol");
const confirmForm = document.getElementById("totp-confirm-form");
const disableForm = document.getElementById("totp-disable-form");
const recovery = document.getElementById("recovery");
const error = document.getElementById("totp-error");

function show(element, visible) {
  element.classList.toggle("d-none", !visible);
}

function fail(err) {
  error.textContent = err.code === "wrong_code" ? "That code is not right (or was used already)." : describeError(err);
}

async function refresh() {
  const state = await api(bases.auth, "/api/me/totp");
  status.textContent = state.enabled ? "Two-step login is on." : "Two-step login is off.";
  show(enableButton, !state.enabled);
  show(disableForm, state.enabled && !state.required);
}

enableButton.addEventListener("click", async () => {
  error.textContent = "";
  try {
    const started = await api(bases.auth, "/api/me/totp", { method: "POST" });
    // The server made this SVG (segno): markup only, no script.
    const svg = new DOMParser().parseFromString(started.qr_svg, "image/svg+xml").documentElement;
    document.getElementById("totp-qr").replaceChildren(document.importNode(svg, true));
    document.getElementById("totp-secret").textContent = started.secret;
    show(enrol, true);
    show(enableButton, false);
    document.getElementById("totp-code").focus();
  } catch (err) {
    fail(err);
  }
});

confirmForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  try {
    const code = document.getElementById("totp-code").value.trim();
    const done = await api(bases.auth, "/api/me/totp/confirm", { method: "POST", json: { code } });
    const list = document.getElementById("recovery-codes");
    list.replaceChildren(...done.recovery_codes.map((c) => {
      const item = document.createElement("li");
      item.textContent = c;
      return item;
    }));
    show(enrol, false);
    show(recovery, true);
    show(document.getElementById("continue"), Boolean(section.dataset.next));
    await refresh();
  } catch (err) {
    fail(err);
  }
});

disableForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  try {
    const code = document.getElementById("totp-disable-code").value.trim();
    await api(bases.auth, "/api/me/totp", { method: "DELETE", json: { code } });
    disableForm.reset();
    show(recovery, false);
    await refresh();
  } catch (err) {
    fail(err);
  }
});

refresh().catch(fail);

// The security page's sessions: where one is signed in, ending one, or all but this one.
import { api, bases, describeError } from "./api.js";

const body = document.getElementById("session-list");
const status = document.getElementById("session-status");

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function row(session) {
  const tr = document.createElement("tr");
  tr.dataset.sessionId = session.id;
  const device = cell(session.device, "session-device");
  device.title = session.user_agent || "";
  if (session.current) {
    const badge = document.createElement("span");
    badge.className = "badge text-bg-success ms-2";
    badge.textContent = "this one";
    device.append(badge);
  }
  const actions = document.createElement("td");
  if (!session.current) {
    const end = document.createElement("button");
    end.type = "button";
    end.className = "btn btn-sm btn-outline-danger";
    end.textContent = "Sign out";
    end.setAttribute("aria-label", `Sign out ${session.device} at ${session.address || "unknown address"}`);
    end.addEventListener("click", async () => {
      try {
        await api(bases.auth, `/api/me/sessions/${encodeURIComponent(session.id)}`, { method: "DELETE" });
        await refresh();
        status.textContent = "Signed out there.";
      } catch (err) {
        status.textContent = describeError(err);
      }
    });
    actions.append(end);
  }
  tr.append(device, cell(session.address || "—"), cell(when(session.created_at), "d-none d-sm-table-cell"),
    cell(when(session.last_used_at)), actions);
  return tr;
}

async function refresh() {
  const { items } = await api(bases.auth, "/api/me/sessions");
  body.replaceChildren(...items.map(row));
}

document.getElementById("sign-out-others").addEventListener("click", async () => {
  try {
    const { ended } = await api(bases.auth, "/api/me/sessions", { method: "DELETE" });
    await refresh();
    status.textContent = `Signed out of ${ended} other session${ended === 1 ? "" : "s"}.`;
  } catch (err) {
    status.textContent = describeError(err);
  }
});

refresh().catch((err) => { status.textContent = describeError(err); });

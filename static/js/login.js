// Log in with the JSON endpoint (it sets the session cookie), then go where we were headed.
const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.classList.add("d-none");
  const body = {
    username: form.elements.username.value,
    password: form.elements.password.value,
  };
  let response;
  try {
    response = await fetch("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "include",
    });
  } catch {
    error.textContent = "Network error: is the server running?";
    error.classList.remove("d-none");
    return;
  }
  if (response.ok) {
    window.location.assign(form.dataset.next || "/");
    return;
  }
  let detail = `Login failed (${response.status}).`;
  try { detail = (await response.json()).detail; } catch { /* not JSON */ }
  if (response.status === 429) {
    const wait = response.headers.get("Retry-After");
    detail = `Too many failed logins. Try again in ${wait || "a few"} seconds.`;
  }
  error.textContent = detail;
  error.classList.remove("d-none");
});

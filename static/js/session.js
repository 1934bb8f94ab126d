// The session's CSRF token (a cookie the server set at login) and the logout button.
export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)filebay_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export function csrfHeaders(extra = {}) {
  return { "X-CSRF-Token": csrfToken(), ...extra };
}

const logout = document.getElementById("logout-button");
if (logout) {
  logout.addEventListener("click", async () => {
    const base = logout.dataset.authBase || "";
    await fetch(`${base}/api/auth/logout`, {
      method: "POST",
      headers: csrfHeaders(),
      credentials: "include",
    });
    window.location.assign(`${base}/login`);
  });
}

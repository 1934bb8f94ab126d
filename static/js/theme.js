// Follow the system's light/dark preference (Bootstrap colour modes).
const dark = window.matchMedia("(prefers-color-scheme: dark)");
const apply = () =>
  document.documentElement.setAttribute("data-bs-theme", dark.matches ? "dark" : "light");
apply();
dark.addEventListener("change", apply);

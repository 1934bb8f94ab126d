// Start Swagger UI from the vendored bundle (no CDN, no inline script: our CSP holds).
const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  oauth2RedirectUrl: new URL(root.dataset.oauth2RedirectUrl, window.location.href).href,
  // Deep links put a link inside each operation's toggle button (nested controls, WCAG 4.1.2).
  deepLinking: false,
  persistAuthorization: false,
});

// Swagger UI over our own /openapi.json; "Try it out" talks to this server (same origin).
// validatorUrl null: the default would fetch a badge from a third-party host.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  tryItOutEnabled: false,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});

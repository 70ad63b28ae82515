// The API's reference page: Swagger UI, served from this site (no CDN: the
// Content-Security-Policy allows scripts from this site only, and there may be no network).
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });

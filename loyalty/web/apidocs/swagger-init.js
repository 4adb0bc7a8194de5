// Starts Swagger UI on the app's OpenAPI document. A file, not an inline script, so the page's
// Content-Security-Policy can keep script-src 'self' (see loyalty/apidocs.py).
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    // Sections folded: opening all 140 operations at once stops Swagger UI part-way (no error
    // shown; each section opens fine on its own), and a reader wants one face, not all three.
    docExpansion: "none",
    // Swagger UI would otherwise send the whole document to validator.swagger.io for a badge.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    showExtensions: true,
    showCommonExtensions: true,
    displayRequestDuration: true,
    onComplete: function () { root.dataset.state = "ready"; },
  });
})();

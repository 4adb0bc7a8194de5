// Starts Redoc on the app's OpenAPI document. A file, not an inline script, so the page's
// Content-Security-Policy can keep script-src 'self' (see loyalty/apidocs.py).
"use strict";
(function () {
  var root = document.getElementById("redoc");
  // No web fonts are fetched (the page loads nothing from elsewhere): the system's sans-serif,
  // with Chinese fonts for the Chinese words of the descriptions.
  var sans = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans SC", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';
  Redoc.init(
    root.dataset.specUrl,
    {
      expandResponses: "200,201",
      requiredPropsFirst: true,
      sortPropsAlphabetically: false,
      theme: { typography: { fontFamily: sans, headings: { fontFamily: sans } } },
    },
    root,
    function (error) { root.dataset.state = error ? "failed" : "ready"; }
  );
})();

// Starts Swagger UI on /api/v1/docs. A file rather than an inline script: the Content-Security-Policy
// allows scripts from this origin only.
(function () {
  "use strict";
  var root = document.getElementById("api-docs");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    deepLinking: true,
    // The default validator is an outside service (validator.swagger.io): never call it.
    validatorUrl: null,
    // "Try it out" rides on the session cookie: writes need the CSRF token, as from any page.
    requestInterceptor: function (request) {
      if (!/^(GET|HEAD|OPTIONS)$/i.test(request.method || "GET")) {
        request.headers["X-CSRF-Token"] = csrf;
      }
      return request;
    },
  });
})();

// Renders the API reference with the local Redoc 2.5.1 bundle from the spec the page's spec script put in
// window.PLUCT_OPENAPI. No network: the spec is inlined, Redoc's search worker is a blob, fonts are local.
(function () {
  var container = document.getElementById('redoc');
  if (!container || !window.Redoc || !window.PLUCT_OPENAPI) {
    document.body.insertAdjacentHTML('beforeend', '<p class="pluct-content">Could not load the API reference.</p>');
    return;
  }
  var specJson = container.getAttribute('data-spec-json') || undefined;
  window.Redoc.init(
    window.PLUCT_OPENAPI,
    {
      scrollYOffset: '.pluct-topbar',
      downloadDefinitionUrl: specJson,
      downloadFileName: specJson,
      expandResponses: '',
      jsonSampleExpandLevel: 4,
      hideHostname: false,
      pathInMiddlePanel: true,
      theme: {
        typography: {
          fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
          headings: { fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif' },
          code: { fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace' },
        },
      },
    },
    container,
    function () {
      document.documentElement.setAttribute('data-redoc-ready', 'true');
    },
  );
})();

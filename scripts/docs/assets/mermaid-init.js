// Renders every <pre class="mermaid"> block with the local mermaid bundle (no network, strict security).
(function () {
  if (!window.mermaid) return;
  window.mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'neutral' });
  window.mermaid
    .run({ querySelector: 'pre.mermaid' })
    .then(function () {
      document.documentElement.setAttribute('data-mermaid-ready', 'true');
    })
    .catch(function (error) {
      document.documentElement.setAttribute('data-mermaid-ready', 'error');
      console.error('mermaid failed', error);
    });
})();

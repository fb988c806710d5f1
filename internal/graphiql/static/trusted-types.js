// The page runs under `require-trusted-types-for 'script'`: a plain string
// given to an HTML sink is refused by the browser. GraphiQL renders schema
// descriptions from Markdown to HTML (and CodeMirror's hint and lint
// tooltips do the same), so this default policy lets HTML strings through
// only after DOMPurify has removed scripts, event handlers and other
// active content. No script or script-URL sink is allowed: the policy
// defines createHTML only.
(function () {
  'use strict';
  if (!window.trustedTypes || !window.trustedTypes.createPolicy) return;
  window.trustedTypes.createPolicy('default', {
    createHTML: function (html) {
      return window.DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
    },
  });
}());

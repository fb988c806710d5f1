// certd's GraphiQL page: GraphiQL (vendored, see vendor/versions.json)
// talking to this server's /graphql with the token the user pastes, like
// the console. The token lives in sessionStorage under the console's key:
// it is gone when the tab closes, and the console in the same tab uses it
// too. Public queries (verifyCertificate, verifyDocument) need none.
(function () {
  'use strict';
  var TOKEN_KEY = 'certd.console.token';
  var ENDPOINT = '/graphql';

  function getToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }
  function setToken(tok) {
    try {
      if (tok) sessionStorage.setItem(TOKEN_KEY, tok); else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage unavailable: the token lasts for this page only */ }
    current = tok;
  }
  var current = getToken();

  var form = document.getElementById('token-form');
  var input = document.getElementById('token');
  var state = document.getElementById('token-state');
  function showState() {
    state.textContent = current ? 'Requests carry your token.' : 'No token: public queries only.';
  }
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    setToken(input.value.trim().replace(/^Bearer\s+/i, ''));
    input.value = '';
    showState();
  });
  document.getElementById('token-clear').addEventListener('click', function () {
    setToken('');
    input.value = '';
    showState();
  });
  showState();

  // fetcher posts one GraphQL request with the session's token (if any)
  // and the headers of GraphiQL's headers editor, and returns the JSON
  // answer, errors included, for GraphiQL to show.
  async function fetcher(params, opts) {
    var headers = {
      'Content-Type': 'application/json',
      Accept: 'application/graphql-response+json, application/json',
    };
    if (current) headers.Authorization = 'Bearer ' + current;
    var extra = (opts && opts.headers) || {};
    Object.keys(extra).forEach(function (k) { headers[k] = extra[k]; });
    var resp = await fetch(ENDPOINT, {
      method: 'POST', headers: headers, body: JSON.stringify(params),
      credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
    });
    var text = await resp.text();
    try {
      return JSON.parse(text);
    } catch (e) {
      return { errors: [{ message: 'HTTP ' + resp.status + ': ' + (text || resp.statusText) }] };
    }
  }

  var defaultQuery = [
    '# certd GraphiQL. Paste a token above (in embedded mode `certd token` prints one);',
    '# public verification needs none. The Docs pane lists every query and mutation.',
    '',
    '{',
    '  certificateTypes {',
    '    code',
    '    name',
    '    issuer { name }',
    '  }',
    '}',
    '',
  ].join('\n');

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: defaultQuery,
    shouldPersistHeaders: false,
  }));
}());

// The policy page (policy admins): the active version's Rego modules in
// highlighted editors, a test run without publishing, proposing a new
// version with a message, the versions with their states, diffs and
// proposed roll-backs, approving or rejecting another admin's proposal,
// and a dry run of explainDecision.
import { gql } from '../api.js';
import { h, time, field, table, setText, uid } from '../dom.js';
import { errorBox, okBox, busy, show, parseJSON, mark, announce } from '../ui.js';
import { createEditor } from '../editor.js';
import { diffLines, hunks, changed } from '../diff.js';

const VERSION_FIELDS = 'version active state approvedBy approvedAt basedOn rollbackOf rejectedBy rejectedAt rejectReason message author publishedAt testsPassed modules { path rego }';
const ACTIVE_Q = `{ activePolicy { ${VERSION_FIELDS} } }`;
const VERSIONS_Q = `{ policies { ${VERSION_FIELDS} } }`;
const TEST_Q = `query($m: [PolicyModuleInput!]!) { testPolicy(modules: $m) { passed compileErrors results { name package passed detail durationMs } } }`;
const PUBLISH_Q = `mutation($m: [PolicyModuleInput!]!, $msg: String!, $base: Int) { publishPolicy(modules: $m, message: $msg, basedOn: $base) { ${VERSION_FIELDS} } }`;
const ROLLBACK_Q = `mutation($v: Int!) { rollbackPolicy(version: $v) { ${VERSION_FIELDS} } }`;
const APPROVE_Q = `mutation($v: Int!) { approvePolicyVersion(version: $v) { ${VERSION_FIELDS} } }`;
const REJECT_Q = `mutation($v: Int!, $r: String!) { rejectPolicyVersion(version: $v, reason: $r) { ${VERSION_FIELDS} } }`;
const EXPLAIN_Q = `query($q: String!, $in: JSON!) { explainDecision(query: $q, input: $in) { allowed result explanation } }`;

export const DEFAULT_QUERY = 'data.certd.authz.allow';
const DEFAULT_INPUT = JSON.stringify({ action: 'unit.register', principal: { sub: 'issuer-1', org: '11350100MB00000025', roles: ['issuer'] } }, null, 2);

// The page keeps its state while the user visits other pages, so edits
// survive navigation; sign-out resets it.
let st = null;
let dry = { query: DEFAULT_QUERY, input: DEFAULT_INPUT };
// me is the signed-in admin's subject: nobody approves their own proposal.
let me = '';

export function reset() {
  st = null;
  me = '';
  dry = { query: DEFAULT_QUERY, input: DEFAULT_INPUT };
}

function freshState(active) {
  return {
    active,
    // activeNo is the version active on the server; active is the one the
    // editor's modules come from (older when edits outlived a change).
    activeNo: active.version,
    modules: active.modules.map((m) => ({ path: m.path, rego: m.rego, original: m.rego, editor: null })),
    current: 0,
    versions: [],
  };
}

export function render(root, ctx) {
  me = (ctx && ctx.me && ctx.me.subject) || '';
  const summary = h('div', { id: 'active-summary', class: 'summary', 'aria-live': 'polite' });
  const editorSection = h('section', { class: 'card', 'aria-labelledby': 'modules-title' });
  const versionsSection = h('section', { class: 'card', 'aria-labelledby': 'versions-title' });
  const drySection = h('section', { class: 'card', 'aria-labelledby': 'dryrun-title' });
  const loadResult = h('div', { 'aria-live': 'polite' });
  root.append(
    h('h1', { id: 'page-title', tabindex: '-1', i18n: 'policy.title' }),
    summary, loadResult, editorSection, versionsSection, drySection);

  const page = { root, summary, editorSection, versionsSection, drySection, loadResult };
  renderDryRun(page);
  if (st) {
    renderSummary(page);
    renderEditor(page);
    renderVersions(page);
    loadVersions(page);
    // Someone may have published or rolled back meanwhile.
    gql(ACTIVE_Q).then((d) => {
      const now = d.activePolicy;
      if (!st || now.version === st.activeNo) return;
      activeChanged(page, now);
      renderVersions(page);
    }).catch((e) => show(loadResult, errorBox(e)));
  } else {
    show(summary, h('p', { class: 'muted', i18n: 'common.loading' }));
    gql(ACTIVE_Q).then((d) => {
      st = freshState(d.activePolicy);
      renderSummary(page);
      renderEditor(page);
      renderVersions(page);
      loadVersions(page);
    }).catch((e) => { show(summary); show(loadResult, errorBox(e)); });
  }
}

function renderSummary(page, a = st.active) {
  show(page.summary,
    h('p', {},
      h('span', { i18n: 'policy.active_version' }), ' ',
      h('strong', { id: 'active-version', class: 'version-no', text: a.version })),
    h('dl', { class: 'meta' },
      h('dt', { i18n: 'policy.message' }), h('dd', { id: 'active-message', text: a.message }),
      h('dt', { i18n: 'policy.author' }), h('dd', { text: a.author }),
      h('dt', { i18n: 'policy.approved_by' }), h('dd', { id: 'active-approver', text: a.approvedBy || '—' }),
      h('dt', { i18n: 'policy.published_at' }), h('dd', {}, time(a.publishedAt)),
      h('dt', { i18n: 'policy.tests_passed' }), h('dd', { text: a.testsPassed })));
}

// activeChanged takes a newly active version: the editor follows it
// unless it holds edits, which then are marked as based on an older one.
function activeChanged(page, now) {
  const edited = st.modules.some(isModified) || st.removed;
  if (!edited) {
    st = { ...freshState(now), versions: st.versions };
    renderSummary(page);
    renderEditor(page);
    return;
  }
  st.activeNo = now.version;
  renderSummary(page, now);
  show(page.loadResult, h('div', { class: 'error', role: 'alert', id: 'stale-note' },
    h('p', { i18n: 'policy.stale', i18nArgs: { now: now.version, base: st.active.version } })));
}

// ---- editor, tests and publishing ----

function modulesInput() {
  return st.modules.map((m) => ({ path: m.path, rego: m.editor ? m.editor.getValue() : m.rego }));
}

function isModified(m) {
  return m.original === null || (m.editor ? m.editor.getValue() : m.rego) !== m.original;
}

function renderEditor(page) {
  const sec = page.editorSection;
  const tablist = h('div', { class: 'tabs', role: 'tablist', id: 'module-tabs', i18nAria: 'policy.modules' });
  const panels = h('div', { class: 'panels' });
  const testResult = h('div', { id: 'test-results', class: 'result' });
  const publishResult = h('div', { id: 'publish-result', class: 'result', 'aria-live': 'polite', tabindex: '-1' });
  const editedNote = h('p', { id: 'edited-note', class: 'hint' });

  const updateEdited = () => {
    const n = st.modules.filter(isModified).length + (st.removed ? st.removed : 0);
    if (n) setText(editedNote, 'policy.edited_count', { n });
    else setText(editedNote, 'policy.unedited', { version: st.active.version });
    for (const tab of tablist.querySelectorAll('[role=tab]')) {
      const m = st.modules[Number(tab.dataset.index)];
      tab.querySelector('.modified').hidden = !m || !isModified(m);
    }
  };

  const select = (idx, focus) => {
    st.current = idx;
    for (const tab of tablist.querySelectorAll('[role=tab]')) {
      const on = Number(tab.dataset.index) === idx;
      tab.setAttribute('aria-selected', on ? 'true' : 'false');
      tab.tabIndex = on ? 0 : -1;
      if (on && focus) tab.focus();
    }
    for (const p of panels.children) p.hidden = Number(p.dataset.index) !== idx;
    const m = st.modules[idx];
    revert.hidden = !m || m.original === null;
    remove.hidden = !m;
  };

  // These act on the module of the selected tab.
  const revert = h('button', { type: 'button', class: 'secondary small', id: 'revert-module', i18n: 'policy.revert_module' });
  revert.addEventListener('click', () => {
    const m = st.modules[st.current];
    if (m && m.editor) { m.editor.setValue(m.original ?? ''); updateEdited(); m.editor.textarea.focus(); }
  });
  const remove = h('button', { type: 'button', class: 'secondary small danger', id: 'remove-module', i18n: 'policy.remove_module' });
  remove.addEventListener('click', () => {
    const idx = st.current;
    const [m] = st.modules.splice(idx, 1);
    if (m && m.original !== null) st.removed = (st.removed || 0) + 1;
    build();
    if (st.modules.length) select(Math.max(0, Math.min(idx, st.modules.length - 1)), true);
    updateEdited();
  });

  const build = () => {
    tablist.replaceChildren();
    panels.replaceChildren();
    st.modules.forEach((m, idx) => {
      const tabId = `module-tab-${idx}`;
      const panelId = `module-panel-${idx}`;
      const tab = h('button', {
        type: 'button', role: 'tab', id: tabId, class: 'module-tab', 'aria-controls': panelId,
        dataset: { index: String(idx), path: m.path },
      }, h('span', { class: 'path', text: m.path }),
      h('span', { class: 'modified', hidden: true }, h('span', { 'aria-hidden': 'true', text: ' •' }), h('span', { class: 'sr-only', i18n: 'policy.modified' })));
      tab.addEventListener('click', () => select(idx, false));
      tablist.append(tab);
      if (!m.editor) {
        m.editor = createEditor({ value: m.rego, labelKey: 'policy.editor_label', labelArgs: { path: m.path }, id: uid('module-editor'), onInput: updateEdited });
      }
      panels.append(h('div', { role: 'tabpanel', id: panelId, class: 'tabpanel', 'aria-labelledby': tabId, dataset: { index: String(idx), path: m.path } },
        m.editor.el));
    });
    select(Math.min(st.current, st.modules.length - 1), false);
  };

  tablist.addEventListener('keydown', (e) => {
    const n = st.modules.length;
    let idx = st.current;
    if (e.key === 'ArrowRight') idx = (idx + 1) % n;
    else if (e.key === 'ArrowLeft') idx = (idx - 1 + n) % n;
    else if (e.key === 'Home') idx = 0;
    else if (e.key === 'End') idx = n - 1;
    else return;
    e.preventDefault();
    select(idx, true);
  });

  // A new module, e.g. a further *_test.rego. Browsers compile pattern
  // with the v flag, where / and - in a class must be escaped.
  const newPath = h('input', { type: 'text', id: 'new-module-path', placeholder: 'extra.rego', autocomplete: 'off', class: 'mono', required: true, pattern: '[A-Za-z0-9_.\\/\\-]+\\.rego' });
  const addForm = h('form', { class: 'inline-form', id: 'add-module-form' },
    field('policy.new_module', newPath, 'policy.new_module_hint'),
    h('button', { type: 'submit', class: 'secondary', i18n: 'policy.add_module' }));
  const addBox = h('details', { class: 'add-module' }, h('summary', { i18n: 'policy.add_module' }), addForm);
  addForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const path = newPath.value.trim();
    if (st.modules.some((m) => m.path === path)) { show(publishResult, errorBox({ code: 'INVALID_INPUT', message: path })); return; }
    const pkg = path.replace(/\.rego$/, '').replace(/[^A-Za-z0-9_]/g, '_');
    st.modules.push({ path, rego: `package certd.${pkg}\n\n`, original: null, editor: null });
    newPath.value = '';
    build(); select(st.modules.length - 1, true); updateEdited();
  });

  const runButton = h('button', { type: 'button', id: 'run-tests', i18n: 'policy.run_tests' });
  runButton.addEventListener('click', () => busy(runButton, async () => {
    show(testResult, h('p', { class: 'muted', i18n: 'policy.running' }));
    try {
      const d = await gql(TEST_Q, { m: modulesInput() });
      show(testResult, testReport(d.testPolicy));
      const failed = d.testPolicy.results.filter((r) => !r.passed).length;
      announce('policy.test_counts', { passed: d.testPolicy.results.length - failed, failed });
    } catch (e) {
      show(testResult, errorBox(e));
    }
  }));

  const message = h('input', { type: 'text', id: 'publish-message', name: 'message', required: true, autocomplete: 'off', maxlength: '500' });
  const publishButton = h('button', { type: 'submit', id: 'publish-button', i18n: 'policy.publish' });
  const publishForm = h('form', { id: 'publish-form', class: 'inline-form' },
    field('policy.publish_message', message, 'policy.publish_hint'), publishButton);
  publishForm.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!message.value.trim()) { message.focus(); return; }
    busy(publishButton, async () => {
      show(publishResult, h('p', { class: 'muted', i18n: 'policy.publishing' }));
      try {
        // basedOn: the server refuses edits made on a version that is no
        // longer active, which would otherwise undo the change since.
        const d = await gql(PUBLISH_Q, { m: modulesInput(), msg: message.value.trim(), base: st.active.version });
        const v = d.publishPolicy;
        // The edits are the proposal now; the editor shows the version
        // they were based on again, and the proposal waits under Versions.
        st = { ...freshState(st.active), activeNo: st.activeNo, versions: st.versions };
        message.value = '';
        renderSummary(page);
        renderEditor(page);
        const res = page.editorSection.querySelector('#publish-result');
        res.replaceChildren(okBox('policy.published', { version: v.version }));
        res.focus();
        loadVersions(page);
      } catch (err) {
        show(publishResult, errorBox(err));
      }
    });
  });

  const discard = h('button', { type: 'button', class: 'secondary', id: 'discard-edits', i18n: 'policy.discard' });
  discard.addEventListener('click', () => {
    st = { ...freshState(st.active), activeNo: st.activeNo, versions: st.versions };
    renderEditor(page);
    announce('policy.discarded');
  });

  show(sec,
    h('h2', { id: 'modules-title', i18n: 'policy.modules' }),
    editedNote, tablist, panels,
    h('div', { class: 'toolbar' },
      h('div', { class: 'actions' }, runButton, discard),
      h('div', { class: 'actions' }, revert, remove)),
    addBox,
    testResult,
    h('h3', { i18n: 'policy.publish_title' }),
    publishForm, publishResult);
  build();
  updateEdited();
}

function testReport(rep) {
  const results = [...rep.results].sort((a, b) => (a.passed === b.passed ? 0 : a.passed ? 1 : -1));
  const failed = results.filter((r) => !r.passed).length;
  const out = [
    h('p', { class: rep.passed ? 'ok-line' : 'fail-line', id: 'test-summary' },
      mark(rep.passed, 'policy.tests_ok', 'policy.tests_failed'), ' ',
      h('span', { i18n: 'policy.test_counts', i18nArgs: { passed: results.length - failed, failed } })),
  ];
  if (rep.compileErrors.length) {
    out.push(h('div', { class: 'error', id: 'compile-errors' },
      h('p', { i18n: 'policy.compile_errors' }),
      h('ul', { class: 'error-details' }, rep.compileErrors.map((c) => h('li', {}, h('pre', { text: c }))))));
  }
  if (results.length) {
    const grid = table([
      { key: 'policy.col_package', cell: (r) => h('code', { text: r.package }) },
      { key: 'policy.col_test', cell: (r) => h('code', { text: r.name }) },
      { key: 'policy.col_result', cell: (r) => mark(r.passed) },
      { key: 'policy.col_detail', cell: (r) => (r.detail ? h('pre', { class: 'detail', text: r.detail }) : '') },
      { key: 'policy.col_ms', class: 'num', cell: (r) => r.durationMs.toFixed(1) },
    ], results, { rowClass: (r) => (r.passed ? 'row-pass' : 'row-fail'), captionKey: 'policy.test_caption' });
    // Failures stay in view; the whole list folds away when they are few.
    const failures = grid.cloneNode(true);
    failures.querySelectorAll('tbody tr.row-pass').forEach((tr) => tr.remove());
    setText(failures.querySelector('caption'), 'policy.failures_caption', { n: failed });
    failures.querySelector('table').id = 'test-failures';
    if (failed) out.push(failures);
    grid.querySelector('table').id = 'test-table';
    out.push(h('details', { class: 'all-tests' },
      h('summary', { i18n: 'policy.all_tests', i18nArgs: { n: results.length } }), grid));
  }
  return h('div', { id: 'test-report' }, out);
}

// ---- versions, diff, roll-back ----

async function loadVersions(page) {
  try {
    const d = await gql(VERSIONS_Q);
    st.versions = d.policies;
    renderVersions(page);
  } catch (e) {
    show(page.versionsSection, h('h2', { id: 'versions-title', i18n: 'policy.versions' }), errorBox(e));
  }
}

function renderVersions(page) {
  const sec = page.versionsSection;
  const versions = [...(st.versions || [])].sort((a, b) => b.version - a.version);
  const activeNo = st.activeNo;
  const result = h('div', { id: 'rollback-result', class: 'result', 'aria-live': 'polite', tabindex: '-1' });
  const diffResult = h('div', { id: 'diff-result', class: 'result', tabindex: '-1' });

  // After a change, the versions are read again and the result shown in
  // the freshly rendered section, with focus on it.
  const done = async (key, args) => {
    await loadVersions(page);
    const r = page.versionsSection.querySelector('#rollback-result');
    if (r) { r.replaceChildren(okBox(key, args)); r.focus(); }
  };

  // confirmIn replaces a cell's button by a labelled question with a
  // confirm and a cancel button; confirming runs fn.
  const confirmIn = (wrap, btn, questionKey, confirmKey, args, id, fn) => {
    const confirmBtn = h('button', { type: 'button', class: 'danger small', id, i18n: confirmKey, i18nArgs: args });
    const cancel = h('button', { type: 'button', class: 'secondary small', i18n: 'common.cancel' });
    const question = h('span', { id: uid('confirm-question'), i18n: questionKey, i18nArgs: args });
    wrap.replaceChildren(h('span', { class: 'confirm', role: 'group', 'aria-labelledby': question.id }, question, ' ', confirmBtn, ' ', cancel));
    confirmBtn.focus();
    cancel.addEventListener('click', () => { wrap.replaceChildren(btn); btn.focus(); });
    confirmBtn.addEventListener('click', () => busy(confirmBtn, async () => {
      try { await fn(); } catch (e) { show(result, errorBox(e)); }
    }));
  };

  const rollbackCell = (v) => {
    const wrap = h('span', { class: 'rollback-cell' });
    const btn = h('button', { type: 'button', class: 'secondary small rollback', dataset: { version: String(v.version) }, i18n: 'policy.rollback', i18nArgs: { version: v.version } });
    btn.addEventListener('click', () => confirmIn(wrap, btn, 'policy.rollback_question', 'policy.rollback_confirm', { version: v.version }, 'rollback-confirm', async () => {
      const d = await gql(ROLLBACK_Q, { v: v.version });
      await done('policy.rolled_back', { version: d.rollbackPolicy.version, from: v.version });
    }));
    wrap.append(btn);
    return wrap;
  };

  // A proposal: another admin approves or rejects it; its author may
  // withdraw it. One based on a version no longer active can only be
  // rejected (the server refuses to approve it).
  const proposalCell = (v) => {
    const restored = v.rollbackOf ? versions.find((x) => x.version === v.rollbackOf) : null;
    const own = v.author === me || (restored && restored.author === me);
    const stale = v.basedOn !== activeNo;
    const about = uid('proposal');
    const cell = h('div', { class: 'row-actions proposal-actions', dataset: { version: String(v.version) } });
    if (stale) cell.append(h('p', { class: 'hint stale-proposal', id: about, i18n: 'policy.proposal_stale', i18nArgs: { base: v.basedOn, active: activeNo } }));
    else if (own) cell.append(h('p', { class: 'hint own-proposal', id: about, i18n: v.author === me ? 'policy.proposal_own' : 'policy.proposal_restores_own', i18nArgs: { version: v.rollbackOf } }));
    // The reviewer's first step: what the proposal changes.
    if (v.basedOn && versions.some((x) => x.version === v.basedOn)) {
      const cmp = h('button', { type: 'button', class: 'secondary small compare', dataset: { version: String(v.version) }, i18n: 'policy.compare', i18nArgs: { base: v.basedOn } });
      cmp.addEventListener('click', () => {
        from.value = String(v.basedOn);
        to.value = String(v.version);
        diffForm.requestSubmit();
        diffResult.focus();
      });
      cell.append(cmp);
    }
    if (!own && !stale) {
      const wrap = h('span', { class: 'approve-cell' });
      const approve = h('button', { type: 'button', class: 'small approve', dataset: { version: String(v.version) }, i18n: 'policy.approve', i18nArgs: { version: v.version } });
      approve.addEventListener('click', () => confirmIn(wrap, approve, 'policy.approve_question', 'policy.approve_confirm', { version: v.version, active: activeNo }, 'approve-confirm', async () => {
        const d = await gql(APPROVE_Q, { v: v.version });
        const now = d.approvePolicyVersion;
        activeChanged(page, now);
        await done('policy.approved', { version: now.version });
      }));
      wrap.append(approve);
      cell.append(wrap);
    }
    const reason = h('input', { type: 'text', class: 'reject-reason', autocomplete: 'off', required: true, maxlength: '500', 'aria-describedby': about });
    const reject = h('button', { type: 'submit', class: 'small secondary danger reject', dataset: { version: String(v.version) }, i18n: v.author === me ? 'policy.withdraw' : 'policy.reject' });
    const form = h('form', { class: 'row-form reject-form' }, field('policy.reject_reason', reason), reject);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!reason.value.trim()) { reason.focus(); return; }
      busy(reject, async () => {
        try {
          await gql(REJECT_Q, { v: v.version, r: reason.value.trim() });
          await done('policy.rejected', { version: v.version });
        } catch (err) {
          show(result, errorBox(err));
        }
      });
    });
    cell.append(form);
    return cell;
  };

  const stateCell = (v) => {
    const out = [h('span', { class: `badge state state-${v.state}`, i18n: `policy.state.${v.state}` })];
    const line = (key, args) => out.push(h('br', {}), h('small', { class: 'muted', i18n: key, i18nArgs: args }));
    if (v.rollbackOf) line('policy.rollback_of', { version: v.rollbackOf });
    if (v.approvedBy) out.push(h('br', {}), h('small', { class: 'approver' }, h('span', { i18n: 'policy.approved_by_line', i18nArgs: { who: v.approvedBy } }), ' ', time(v.approvedAt)));
    if (v.state === 'PROPOSED' && v.basedOn) line('policy.based_on', { version: v.basedOn });
    if (v.rejectedBy) out.push(h('br', {}), h('small', { class: 'rejecter' }, h('span', { i18n: 'policy.rejected_by_line', i18nArgs: { who: v.rejectedBy } }), ' ', time(v.rejectedAt)),
      h('br', {}), h('small', { class: 'reject-reason-text', text: v.rejectReason || '' }));
    return out;
  };

  const actionsCell = (v) => {
    if (v.state === 'PROPOSED') return proposalCell(v);
    if (v.state === 'SUPERSEDED') return rollbackCell(v);
    return '';
  };

  const tbl = table([
    { key: 'policy.col_version', class: 'num', cell: (v) => h('span', { text: v.version }) },
    { key: 'policy.message', cell: (v) => v.message },
    { key: 'policy.author', cell: (v) => v.author },
    { key: 'policy.published_at', cell: (v) => time(v.publishedAt) },
    { key: 'policy.tests_passed', class: 'num', cell: (v) => String(v.testsPassed) },
    { key: 'policy.col_state', cell: stateCell },
    { key: 'common.actions', cell: actionsCell },
  ], versions, { rowClass: (v) => (v.state === 'ACTIVE' ? 'row-active' : v.state === 'PROPOSED' ? 'row-proposed' : null) });
  tbl.querySelector('table').id = 'versions-table';
  tbl.querySelectorAll('tbody tr').forEach((tr, i) => { tr.dataset.version = String(versions[i].version); tr.dataset.state = versions[i].state; });

  const waiting = versions.filter((v) => v.state === 'PROPOSED' && v.author !== me && v.basedOn === activeNo).length;
  const pending = h('p', { id: 'proposals-waiting', class: waiting ? 'notice' : 'muted', i18n: 'policy.proposals_waiting', i18nArgs: { n: waiting } });

  const opt = (v) => h('option', { value: String(v.version), text: `v${v.version} — ${v.message}` });
  const from = h('select', { id: 'diff-from' }, versions.map(opt));
  const to = h('select', { id: 'diff-to' }, h('option', { value: 'editor', i18n: 'policy.diff_editor' }), versions.map(opt));
  if (versions.length > 1) { from.value = String(versions[1].version); to.value = String(versions[0].version); }
  const diffForm = h('form', { id: 'diff-form', class: 'inline-form' },
    field('policy.diff_from', from), field('policy.diff_to', to),
    h('button', { type: 'submit', id: 'diff-button', class: 'secondary', i18n: 'policy.diff' }));
  diffForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const byVersion = (val) => {
      if (val === 'editor') return { label: { i18n: 'policy.diff_editor_short' }, modules: modulesInput() };
      const v = versions.find((x) => String(x.version) === val);
      return { label: `v${v.version}`, modules: v.modules };
    };
    show(diffResult, renderDiff(byVersion(from.value), byVersion(to.value)));
  });

  show(sec,
    h('h2', { id: 'versions-title', i18n: 'policy.versions' }),
    h('p', { class: 'hint', i18n: 'policy.versions_intro' }),
    pending, tbl, result,
    h('h3', { i18n: 'policy.diff_title' }),
    diffForm, diffResult);
}

function renderDiff(a, b) {
  const am = new Map(a.modules.map((m) => [m.path, m.rego]));
  const bm = new Map(b.modules.map((m) => [m.path, m.rego]));
  const paths = [...new Set([...am.keys(), ...bm.keys()])].sort();
  const blocks = [];
  let same = 0;
  for (const p of paths) {
    const d = diffLines(am.get(p) ?? '', bm.get(p) ?? '');
    if (!changed(d)) { same += 1; continue; }
    const statusKey = !am.has(p) ? 'policy.diff_added' : !bm.has(p) ? 'policy.diff_removed' : 'policy.diff_changed';
    if (d.tooLarge) {
      blocks.push(h('section', { class: 'diff-module', dataset: { path: p } },
        h('h4', {}, h('code', { text: p }), ' ', h('span', { class: 'muted', i18n: statusKey })),
        h('p', { class: 'diff-too-large', i18n: 'policy.diff_too_large', i18nArgs: { a: a.label, na: d.oldLines, b: b.label, nb: d.newLines } })));
      continue;
    }
    const { hunks: hs, skippedAfter } = hunks(d.lines, 3);
    const lines = [];
    for (const hk of hs) {
      if (hk.skippedBefore) lines.push(h('span', { class: 'diff-skip', i18n: 'policy.diff_skipped', i18nArgs: { n: hk.skippedBefore } }));
      for (const l of hk.lines) {
        const cls = l.op === '+' ? 'diff-add' : l.op === '-' ? 'diff-del' : 'diff-ctx';
        lines.push(h('span', { class: `diff-line ${cls}` },
          h('span', { class: 'ln', 'aria-hidden': 'true', text: l.a || '' }),
          h('span', { class: 'ln', 'aria-hidden': 'true', text: l.b || '' }),
          h('span', { class: 'sign', text: l.op }),
          h('span', { class: 'text', text: l.text })));
      }
    }
    if (skippedAfter) lines.push(h('span', { class: 'diff-skip', i18n: 'policy.diff_skipped', i18nArgs: { n: skippedAfter } }));
    const added = d.lines.filter((l) => l.op === '+').length;
    const removed = d.lines.filter((l) => l.op === '-').length;
    blocks.push(h('section', { class: 'diff-module', dataset: { path: p } },
      h('h4', {}, h('code', { text: p }), ' ', h('span', { class: 'muted', i18n: statusKey }), ' ',
        h('span', { class: 'diff-count add', text: `+${added}` }), ' ', h('span', { class: 'diff-count del', text: `−${removed}` })),
      h('pre', { class: 'diff' }, lines)));
  }
  return h('div', { id: 'diff-output' },
    h('p', { i18n: 'policy.diff_summary', i18nArgs: { a: a.label, b: b.label, changed: blocks.length, same } }),
    blocks.length ? blocks : h('p', { class: 'muted', i18n: 'policy.diff_none' }));
}

// ---- dry run ----

function renderDryRun(page) {
  const q = h('input', { type: 'text', id: 'dryrun-query', class: 'mono', autocomplete: 'off', required: true, value: dry.query });
  const input = h('textarea', { id: 'dryrun-input', class: 'mono', rows: 8, spellcheck: 'false', autocomplete: 'off' });
  input.value = dry.input;
  const out = h('div', { id: 'dryrun-result', class: 'result', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', id: 'dryrun-button', i18n: 'policy.dry_run' });
  const form = h('form', { id: 'dryrun-form' },
    field('policy.dry_query', q),
    field('policy.dry_input', input, 'policy.dry_hint'),
    h('div', { class: 'actions' }, button));
  const remember = () => { dry = { query: q.value, input: input.value }; };
  q.addEventListener('input', remember);
  input.addEventListener('input', remember);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(button, async () => {
      let parsed;
      try {
        parsed = parseJSON(input.value);
      } catch (err) {
        show(out, errorBox(err));
        return;
      }
      show(out, h('p', { class: 'muted', i18n: 'common.loading' }));
      try {
        const d = await gql(EXPLAIN_Q, { q: q.value.trim(), in: parsed });
        const x = d.explainDecision;
        show(out,
          h('p', { id: 'dryrun-allowed', class: x.allowed ? 'ok-line' : 'fail-line' },
            h('span', { i18n: 'policy.allowed' }), ' ', mark(x.allowed, 'common.yes', 'common.no')),
          h('p', {}, h('span', { i18n: 'policy.result' }), ' ', h('code', { id: 'dryrun-value', text: JSON.stringify(x.result) })),
          h('h4', { i18n: 'policy.explanation' }),
          h('ol', { id: 'dryrun-explanation', class: 'explanation' }, x.explanation.map((l) => h('li', {}, h('code', { text: l })))));
      } catch (err) {
        show(out, errorBox(err));
      }
    });
  });
  show(page.drySection,
    h('h2', { id: 'dryrun-title', i18n: 'policy.dry_title' }),
    h('p', { class: 'hint', i18n: 'policy.dry_intro' }),
    form, out);
}

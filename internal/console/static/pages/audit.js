// The audit page: the access log (第十八条) with filters and paging, and
// whether the audit chains verify. The server decides whose records a
// token sees (issuers: their own unit's licences; supervisors and the
// digital office: all).
import { gql } from '../api.js';
import { h, time, field, table, enumLabel } from '../dom.js';
import { errorBox, busy, isBusy, show, mark } from '../ui.js';

const RECORDS_Q = `query($f: AccessFilter, $first: Int, $after: String) {
  accessRecords(filter: $f, first: $first, after: $after) {
    edges { cursor node { id at subject org roles operation action kind decision caseId matterCode holderCode certificateId issuerCode fields reason policyVersion requestId client } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const STATUS_Q = '{ auditStatus { intact checkedAt chains records checkpoints unsignedTail problems } }';
export const PAGE_SIZE = 50;

let filters = { certificateId: '', holderCode: '', org: '', from: '', to: '' };

export function reset() { filters = { certificateId: '', holderCode: '', org: '', from: '', to: '' }; }

export function render(root) {
  const statusPanel = h('div', { id: 'audit-status', 'aria-live': 'polite' });
  const refreshStatus = h('button', { type: 'button', class: 'secondary small', id: 'audit-status-refresh', i18n: 'common.refresh' });
  const list = h('div', { id: 'audit-list' });
  const pager = h('div', { class: 'pager', id: 'audit-pager' });

  const inputs = {
    certificateId: h('input', { type: 'text', id: 'filter-certificate', class: 'mono', autocomplete: 'off' }),
    holderCode: h('input', { type: 'text', id: 'filter-holder', class: 'mono', autocomplete: 'off' }),
    org: h('input', { type: 'text', id: 'filter-org', class: 'mono', autocomplete: 'off' }),
    from: h('input', { type: 'datetime-local', id: 'filter-from', step: '1' }),
    to: h('input', { type: 'datetime-local', id: 'filter-to', step: '1' }),
  };
  for (const [k, el] of Object.entries(inputs)) el.value = filters[k];
  const search = h('button', { type: 'submit', id: 'audit-search', i18n: 'audit.search' });
  const clearBtn = h('button', { type: 'button', class: 'secondary', i18n: 'audit.clear' });
  const form = h('form', { id: 'audit-filter', class: 'filter-grid' },
    field('audit.certificate_id', inputs.certificateId),
    field('audit.holder_code', inputs.holderCode),
    field('audit.org', inputs.org),
    field('audit.from', inputs.from),
    field('audit.to', inputs.to),
    h('div', { class: 'actions' }, search, clearBtn));

  root.append(
    h('h1', { id: 'page-title', tabindex: '-1', i18n: 'audit.title' }),
    h('section', { class: 'card', 'aria-labelledby': 'audit-status-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'audit-status-title', i18n: 'audit.status_title' }), refreshStatus),
      statusPanel),
    h('section', { class: 'card', 'aria-labelledby': 'audit-records-title' },
      h('h2', { id: 'audit-records-title', i18n: 'audit.records_title' }),
      form, list, pager));

  // cursors[i] is the `after` of page i; page 0 starts at the newest.
  let cursors = [null];
  let pageNo = 0;

  const filterInput = () => {
    const f = {};
    for (const k of ['certificateId', 'holderCode', 'org']) if (filters[k].trim()) f[k] = filters[k].trim();
    for (const k of ['from', 'to']) if (filters[k]) f[k] = new Date(filters[k]).toISOString();
    return Object.keys(f).length ? f : null;
  };

  async function load() {
    show(list, h('p', { class: 'muted', i18n: 'common.loading' }));
    pager.replaceChildren();
    let d;
    try {
      d = await gql(RECORDS_Q, { f: filterInput(), first: PAGE_SIZE, after: cursors[pageNo] });
    } catch (e) {
      show(list, errorBox(e));
      return;
    }
    const conn = d.accessRecords;
    const recs = conn.edges.map((e) => e.node);
    if (!recs.length) {
      show(list, h('p', { class: 'muted', id: 'audit-empty', i18n: 'audit.none' }));
    } else {
      const tbl = table([
        { key: 'audit.at', cell: (r) => time(r.at) },
        { key: 'audit.subject', cell: (r) => [h('span', { text: r.subject }), r.org ? [h('br', {}), h('small', { class: 'muted mono', text: r.org })] : null] },
        { key: 'audit.roles', cell: (r) => r.roles.flatMap((x, i) => [i ? ', ' : null, enumLabel(`common.role.${x}`, x)]) },
        { key: 'audit.action', cell: (r) => [h('code', { text: r.action }), h('br', {}), h('small', { class: 'muted' }, enumLabel(`audit.kind.${r.kind}`, r.kind), ' · ', operation(r.operation))] },
        { key: 'audit.decision', cell: (r) => h('span', { class: `decision decision-${r.decision}` }, enumLabel(`audit.decision.${r.decision}`, r.decision)) },
        { key: 'audit.target', cell: (r) => target(r) },
        { key: 'audit.fields', cell: (r) => (r.fields.length ? h('small', { class: 'mono', text: r.fields.join(', ') }) : '') },
        { key: 'audit.reason', cell: (r) => r.reason || '' },
        { key: 'audit.policy', class: 'num', cell: (r) => String(r.policyVersion) },
      ], recs, { captionKey: 'audit.page_caption', captionArgs: { page: pageNo + 1, n: recs.length } });
      tbl.querySelector('table').id = 'audit-table';
      tbl.querySelectorAll('tbody tr').forEach((tr, i) => { tr.dataset.id = recs[i].id; });
      show(list, tbl);
    }
    const prev = h('button', { type: 'button', class: 'secondary', id: 'audit-prev', i18n: 'audit.prev', disabled: pageNo === 0 });
    const next = h('button', { type: 'button', class: 'secondary', id: 'audit-next', i18n: 'audit.next', disabled: !conn.pageInfo.hasNextPage });
    prev.addEventListener('click', () => { if (pageNo > 0) { pageNo -= 1; load(); } });
    next.addEventListener('click', () => {
      cursors = cursors.slice(0, pageNo + 1);
      cursors.push(conn.pageInfo.endCursor);
      pageNo += 1;
      load();
    });
    pager.replaceChildren(prev, h('span', { class: 'muted', i18n: 'audit.page', i18nArgs: { page: pageNo + 1 } }), next);
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (isBusy(search)) return;
    for (const [k, el] of Object.entries(inputs)) filters[k] = el.value;
    cursors = [null];
    pageNo = 0;
    busy(search, load);
  });
  clearBtn.addEventListener('click', () => {
    reset();
    for (const el of Object.values(inputs)) el.value = '';
    cursors = [null];
    pageNo = 0;
    load();
  });

  async function loadStatus() {
    show(statusPanel, h('p', { class: 'muted', i18n: 'common.loading' }));
    try {
      const s = (await gql(STATUS_Q)).auditStatus;
      show(statusPanel,
        h('p', { id: 'audit-intact', class: s.intact ? 'ok-line' : 'fail-line', dataset: { intact: String(s.intact) } },
          mark(s.intact, 'audit.intact', 'audit.broken')),
        h('dl', { class: 'meta' },
          h('dt', { i18n: 'audit.checked_at' }), h('dd', {}, time(s.checkedAt)),
          h('dt', { i18n: 'audit.chains' }), h('dd', { text: s.chains }),
          h('dt', { i18n: 'audit.records' }), h('dd', { text: s.records }),
          h('dt', { i18n: 'audit.checkpoints' }), h('dd', { text: s.checkpoints }),
          h('dt', { i18n: 'audit.unsigned_tail' }), h('dd', { text: s.unsignedTail })),
        s.problems.length ? h('div', { class: 'error' }, h('p', { i18n: 'audit.problems' }),
          h('ul', { id: 'audit-problems', class: 'error-details' }, s.problems.map((p) => h('li', {}, h('pre', { text: p }))))) : null);
    } catch (e) {
      show(statusPanel, errorBox(e));
    }
  }
  refreshStatus.addEventListener('click', () => busy(refreshStatus, loadStatus));

  loadStatus();
  load();
}

// operation shows e.g. "query certificates": the type in words, the root
// fields as they are in the schema.
function operation(op) {
  const [type, ...fields] = op.split(' ');
  return [enumLabel(`audit.op.${type}`, type), fields.length ? [' ', h('code', { text: fields.join(' ') })] : null];
}

function target(r) {
  const parts = [];
  if (r.certificateId) parts.push(h('div', {}, h('small', { i18n: 'audit.licence' }), ' ', h('code', { class: 'wrap', text: r.certificateId })));
  if (r.holderCode) parts.push(h('div', {}, h('small', { i18n: 'audit.holder' }), ' ', h('code', { text: r.holderCode })));
  if (r.caseId) parts.push(h('div', {}, h('small', { i18n: 'audit.case' }), ' ', h('code', { text: r.caseId })));
  if (r.matterCode) parts.push(h('div', {}, h('small', { i18n: 'audit.matter' }), ' ', h('code', { text: r.matterCode })));
  return parts;
}

// Every label of the console, in English and Chinese, from this one
// dictionary: 'key': ['English', '中文']. {name} is replaced by an argument.
// Elements carry their key in data-i18n (data-i18n-placeholder,
// data-i18n-aria, data-i18n-title), so a language switch re-labels the page
// without losing what the user typed.
export const DICT = {
  'app.title': ['E-licence platform console', '电子证照共享服务平台 · 管理控制台'],
  'app.doc_title': ['certd console', 'certd 管理控制台'],
  'skip': ['Skip to main content', '跳到主要内容'],
  'lang.label': ['Language', '语言'],
  'nav.label': ['Pages', '页面'],
  'nav.policy': ['Policy', '策略'],
  'nav.approvals': ['Approvals', '审批'],
  'nav.audit': ['Audit', '审计'],
  'nav.objections': ['Objections', '异议'],
  'nav.not_allowed': ['This page is not available to your roles', '您的角色无权使用此页面'],
  'nav.no_pages': ['No console page for your roles', '您的角色没有可用的控制台页面'],
  'nav.roles_hint': ['Your roles: {roles}. The console has pages for policy admins, the digital office, issuers and supervisors.', '您的角色：{roles}。控制台为策略管理员、数字办、发证单位和监督人员提供页面。'],
  'signout': ['Sign out', '退出'],
  'signout.done': ['Signed out; the token was removed from this tab.', '已退出，令牌已从本标签页清除。'],
  'who.expires': ['token expires', '令牌到期'],

  'signin.title': ['Sign in', '登录'],
  'signin.intro': ['Paste the access token (JWT) your identity provider issued. It is kept in this browser tab only and sent to this server as a Bearer token.', '请粘贴身份认证系统签发的访问令牌（JWT）。令牌只保存在当前浏览器标签页中，并以 Bearer 方式发送给本服务器。'],
  'signin.token': ['Access token', '访问令牌'],
  'signin.token_hint': ['Enter signs in; Shift+Enter adds a line.', '按 Enter 登录；Shift+Enter 换行。'],
  'signin.obtain': ['In embedded mode an operator prints one with:', '嵌入模式下，运维人员可用以下命令生成：'],
  'signin.button': ['Sign in', '登录'],
  'signin.refused': ['Your session has ended: the server refused your token (it has probably expired). Sign in again with a new one to go on; policy edits not yet proposed are kept.', '会话已结束：服务器拒绝了您的令牌（可能已过期）。请使用新令牌重新登录后继续；尚未提交的策略修改会保留。'],

  'common.loading': ['Loading…', '加载中…'],
  'common.refresh': ['Refresh', '刷新'],
  'common.all': ['All', '全部'],
  'common.cancel': ['Cancel', '取消'],
  'common.yes': ['yes', '是'],
  'common.no': ['no', '否'],
  'common.pass': ['pass', '通过'],
  'common.fail': ['fail', '失败'],
  'common.actions': ['Actions', '操作'],
  'common.role.policy_admin': ['policy admin', '策略管理员'],
  'common.role.digital_office': ['digital office', '数字办'],
  'common.role.issuer': ['issuer', '发证单位'],
  'common.role.supervisor': ['supervisor', '监督人员'],
  'common.role.analyst': ['analyst', '分析人员'],
  'common.role.staff': ['staff', '办件人员'],
  'common.role.holder': ['holder', '持证主体'],

  'err.network': ['The server could not be reached. Check the connection and try again.', '无法连接服务器，请检查网络后重试。'],
  'err.unauthenticated': ['The token was refused (expired, wrong key or malformed). Sign in with a new one.', '令牌被拒绝（已过期、密钥不符或格式错误），请使用新令牌登录。'],
  'err.forbidden': ['The server refused this for your token’s roles or unit.', '服务器按您令牌的角色或单位拒绝了此操作。'],
  'err.policy_rejected': ['The policy was not accepted. The reasons:', '策略未被接受，原因如下：'],
  'err.invalid_json': ['The text is not valid JSON.', '文本不是有效的 JSON。'],
  'err.not_graphql': ['The server’s answer was not a GraphQL response (a proxy or server failure?). Try again later.', '服务器的应答不是 GraphQL 响应（可能是代理或服务器故障），请稍后重试。'],

  'policy.title': ['Policy', '访问控制策略'],
  'policy.active_version': ['Active version', '当前生效版本'],
  'policy.message': ['Message', '说明'],
  'policy.author': ['Proposed by', '提出人'],
  'policy.published_at': ['Proposed', '提出时间'],
  'policy.tests_passed': ['Tests passed', '通过测试数'],
  'policy.modules': ['Modules', '模块'],
  'policy.edited_count': ['{n} module(s) edited, not proposed yet.', '已修改 {n} 个模块，尚未提交。'],
  'policy.unedited': ['The modules of version {version}, unchanged.', '版本 {version} 的模块，未修改。'],
  'policy.modified': ['(modified)', '（已修改）'],
  'policy.stale': ['Version {now} is active now; your edits, not yet proposed, are based on version {base}. Compare them with “The editor” under Versions, or discard them.', '当前生效的已是版本 {now}；您尚未提交的修改基于版本 {base}。可在“历史版本”中与“编辑器”比较，或放弃修改。'],
  'policy.editor_label': ['Rego source of {path}', '{path} 的 Rego 源码'],
  'policy.revert_module': ['Undo changes to this module', '撤销此模块的修改'],
  'policy.remove_module': ['Remove this module', '删除此模块'],
  'policy.new_module': ['New module path', '新模块路径'],
  'policy.new_module_hint': ['e.g. extra.rego; tests go in files ending _test.rego', '例如 extra.rego；测试写在以 _test.rego 结尾的文件中'],
  'policy.add_module': ['Add module', '添加模块'],
  'policy.discard': ['Discard all edits', '放弃全部修改'],
  'policy.discarded': ['Edits discarded; the editor shows the active version.', '已放弃修改，编辑器显示当前生效版本。'],
  'policy.run_tests': ['Run tests', '运行测试'],
  'policy.running': ['Running the tests…', '正在运行测试…'],
  'policy.tests_ok': ['All tests passed', '全部测试通过'],
  'policy.tests_failed': ['Tests failed', '测试未通过'],
  'policy.test_counts': ['{passed} passed, {failed} failed', '{passed} 个通过，{failed} 个失败'],
  'policy.compile_errors': ['Problems that would stop a proposal:', '会导致提案被拒绝的问题：'],
  'policy.test_caption': ['Test results, failures first', '测试结果（失败的在前）'],
  'policy.failures_caption': ['Failed tests ({n})', '未通过的测试（{n} 个）'],
  'policy.all_tests': ['Every test ({n})', '全部测试（{n} 个）'],
  'policy.col_package': ['Package', '包'],
  'policy.col_test': ['Test', '测试'],
  'policy.col_result': ['Result', '结果'],
  'policy.col_detail': ['Detail', '详情'],
  'policy.col_ms': ['ms', '毫秒'],
  'policy.publish_title': ['Propose a change', '提交修改提案'],
  'policy.publish_message': ['Message for this version', '本版本说明'],
  'policy.publish_hint': ['Required. The server compiles the modules and runs every test first, and refuses a policy that fails. Another policy admin must then approve the proposal before it takes effect.', '必填。服务器会先编译模块并运行全部测试，未通过则拒绝。提案须经另一名策略管理员批准后才生效。'],
  'policy.publish': ['Propose', '提交提案'],
  'policy.publishing': ['Proposing…', '正在提交…'],
  'policy.published': ['Version {version} is proposed. It takes effect once another policy admin approves it; the editor shows the active version again.', '已提交版本 {version}，经另一名策略管理员批准后生效；编辑器已恢复为当前生效版本。'],
  'policy.versions': ['Versions', '历史版本'],
  'policy.col_version': ['Version', '版本'],
  'policy.col_state': ['State', '状态'],
  'policy.rollback': ['Propose a return to v{version}', '提议回滚到 v{version}'],
  'policy.rollback_question': ['Propose making version {version} active again? Another policy admin must approve it.', '提议重新启用版本 {version}？须经另一名策略管理员批准。'],
  'policy.rollback_confirm': ['Yes, propose it', '确定提议'],
  'policy.rolled_back': ['Version {version} proposes the return to version {from}; another policy admin must approve it.', '版本 {version} 提议回滚到版本 {from}，须经另一名策略管理员批准。'],
  'policy.versions_intro': ['A change takes two policy admins: one proposes it, another approves it. A proposal can be approved only while the version it is based on is still active, and its tests run again when it is approved.', '修改策略须两名策略管理员：一人提出，另一人批准。提案只能在其所基于的版本仍生效时获批，批准时会再次运行其测试。'],
  'policy.proposals_waiting': ['{n} proposal(s) waiting for your approval.', '有 {n} 个提案等待您批准。'],
  'policy.approved_by': ['Approved by', '批准人'],
  'policy.state.PROPOSED': ['Proposed', '待批准'],
  'policy.state.ACTIVE': ['Active', '生效中'],
  'policy.state.SUPERSEDED': ['Superseded', '已被取代'],
  'policy.state.REJECTED': ['Rejected', '已驳回'],
  'policy.approved_by_line': ['approved by {who}', '批准人：{who}'],
  'policy.rejected_by_line': ['rejected by {who}', '驳回人：{who}'],
  'policy.based_on': ['based on v{version}', '基于 v{version}'],
  'policy.rollback_of': ['returns to v{version}', '回滚到 v{version}'],
  'policy.proposal_own': ['Your proposal: another policy admin must approve it.', '这是您的提案，须由另一名策略管理员批准。'],
  'policy.proposal_restores_own': ['It restores your version {version}: another policy admin must approve it.', '它恢复的是您编写的版本 {version}，须由另一名策略管理员批准。'],
  'policy.proposal_stale': ['Based on v{base}, which is no longer active (v{active} is): it cannot be approved; propose the change again.', '基于 v{base}，而当前生效的是 v{active}：无法批准，请重新提交。'],
  'policy.compare': ['Compare with v{base}', '与 v{base} 比较'],
  'policy.approve': ['Approve v{version}', '批准 v{version}'],
  'policy.approve_question': ['Make version {version} active in place of version {active}?', '确定以版本 {version} 取代版本 {active} 生效？'],
  'policy.approve_confirm': ['Yes, approve v{version}', '确定批准 v{version}'],
  'policy.approved': ['Version {version} is approved and active.', '版本 {version} 已批准并生效。'],
  'policy.reject': ['Reject', '驳回'],
  'policy.withdraw': ['Withdraw', '撤回'],
  'policy.reject_reason': ['Reason (required)', '理由（必填）'],
  'policy.rejected': ['Version {version} is rejected.', '版本 {version} 已驳回。'],
  'policy.diff_title': ['Compare versions', '版本比较'],
  'policy.diff_from': ['From', '从'],
  'policy.diff_to': ['To', '到'],
  'policy.diff_editor': ['The editor (not proposed)', '编辑器（未提交）'],
  'policy.diff_editor_short': ['editor', '编辑器'],
  'policy.diff': ['Show diff', '显示差异'],
  'policy.diff_summary': ['{a} → {b}: {changed} module(s) changed, {same} unchanged.', '{a} → {b}：{changed} 个模块有变化，{same} 个未变。'],
  'policy.diff_none': ['No differences.', '没有差异。'],
  'policy.diff_added': ['added', '新增'],
  'policy.diff_removed': ['removed', '删除'],
  'policy.diff_changed': ['changed', '修改'],
  'policy.diff_too_large': ['Too large to compare line by line: {na} line(s) in {a}, {nb} line(s) in {b}.', '内容过大，无法逐行比较：{a} 有 {na} 行，{b} 有 {nb} 行。'],
  'policy.diff_skipped': ['… {n} unchanged line(s)', '… {n} 行未变'],
  'policy.dry_title': ['Dry run', '策略试算'],
  'policy.dry_intro': ['Ask the active policy about an input, and see why it answers as it does (explainDecision). Nothing is changed.', '用一个输入询问当前生效策略，并查看其判定原因（explainDecision）。不会改变任何数据。'],
  'policy.dry_query': ['Query', '查询'],
  'policy.dry_input': ['Input (JSON)', '输入（JSON）'],
  'policy.dry_hint': ['Ctrl+Enter (⌘+Enter) runs it.', '按 Ctrl+Enter（⌘+Enter）运行。'],
  'policy.dry_run': ['Explain', '试算'],
  'policy.allowed': ['Allowed:', '是否允许：'],
  'policy.result': ['Result:', '结果：'],
  'policy.explanation': ['Explanation', '判定说明'],

  'approvals.title': ['Bulk-analysis approvals', '批量分析审批'],
  'approvals.intro': ['Analysts apply for bulk analyses (Art. 13); the digital office approves or rejects them. Nobody approves their own request.', '分析人员申请批量分析（第十三条），由数字办审批。申请人不能审批自己的申请。'],
  'approvals.none': ['No requests in this state.', '没有该状态的申请。'],
  'approvals.comment': ['Comment (optional)', '意见（可选）'],
  'approvals.approve': ['Approve', '批准'],
  'approvals.reason': ['Reason (required)', '理由（必填）'],
  'approvals.reject': ['Reject', '驳回'],
  'approvals.approved': ['Request {id} is now {state}.', '申请 {id} 已变为 {state}。'],
  'approvals.rejected': ['Request {id} is now {state}.', '申请 {id} 已变为 {state}。'],
  'bulk.state': ['State', '状态'],
  'bulk.state.PENDING': ['Pending', '待审批'],
  'bulk.state.APPROVED': ['Approved', '已批准'],
  'bulk.state.REJECTED': ['Rejected', '已驳回'],
  'bulk.state.EXPIRED': ['Expired', '已过期'],
  'bulk.state.EXHAUSTED': ['Runs used up', '次数已用完'],
  'bulk.purpose': ['Purpose', '用途'],
  'bulk.group_by': ['Group by', '分组维度'],
  'bulk.dim.TYPE': ['type', '证照类型'],
  'bulk.dim.ISSUER': ['issuer', '发证单位'],
  'bulk.dim.STATE': ['state', '状态'],
  'bulk.dim.ISSUE_MONTH': ['issue month', '发证月份'],
  'bulk.dim.HOLDER_KIND': ['holder kind', '持证主体类型'],
  'bulk.requester': ['Requester', '申请人'],
  'bulk.valid_days': ['Valid days', '有效天数'],
  'bulk.max_runs': ['Max runs', '最多次数'],
  'bulk.created_at': ['Submitted', '提交时间'],

  'audit.title': ['Audit', '审计'],
  'audit.status_title': ['Audit chain', '审计链'],
  'audit.intact': ['Intact: every hash, link and signed checkpoint verifies', '完整：所有哈希、链接和签名检查点均验证通过'],
  'audit.broken': ['NOT intact: see the problems below', '不完整：见下方问题'],
  'audit.checked_at': ['Checked at', '检查时间'],
  'audit.chains': ['Chains', '链数'],
  'audit.records': ['Records', '记录数'],
  'audit.checkpoints': ['Signed checkpoints', '签名检查点'],
  'audit.unsigned_tail': ['Records after the last checkpoint', '最后检查点之后的记录'],
  'audit.problems': ['Problems:', '问题：'],
  'audit.records_title': ['Access records', '访问记录'],
  'audit.certificate_id': ['Licence id', '证照标识'],
  'audit.holder_code': ['Holder code', '持证主体代码'],
  'audit.org': ['Unit (credit code)', '单位（统一社会信用代码）'],
  'audit.from': ['From', '起始时间'],
  'audit.to': ['To', '截止时间'],
  'audit.search': ['Search', '查询'],
  'audit.clear': ['Clear filters', '清除条件'],
  'audit.none': ['No records match.', '没有符合条件的记录。'],
  'audit.at': ['Time', '时间'],
  'audit.subject': ['Who', '访问者'],
  'audit.roles': ['Roles', '角色'],
  'audit.action': ['Action', '操作'],
  'audit.decision': ['Decision', '结果'],
  'audit.target': ['Licence / holder / case', '证照 / 持证主体 / 办件'],
  'audit.fields': ['Fields read', '读取字段'],
  'audit.reason': ['Reason', '原因'],
  'audit.policy': ['Policy', '策略版本'],
  'audit.kind.access': ['access', '访问'],
  'audit.kind.write': ['write', '写入'],
  'audit.op.query': ['query', '查询'],
  'audit.op.mutation': ['mutation', '变更'],
  'audit.op.subscription': ['subscription', '订阅'],
  'audit.op.invalid': ['invalid request', '无效请求'],
  'audit.decision.ALLOW': ['allowed', '允许'],
  'audit.decision.DENY': ['denied', '拒绝'],
  'audit.licence': ['licence', '证照'],
  'audit.holder': ['holder', '持证主体'],
  'audit.case': ['case', '办件'],
  'audit.matter': ['matter', '事项'],
  'audit.page_caption': ['Page {page}: {n} record(s), newest first', '第 {page} 页：{n} 条记录，最新的在前'],
  'audit.page': ['Page {page}', '第 {page} 页'],
  'audit.prev': ['Previous page', '上一页'],
  'audit.next': ['Next page', '下一页'],

  'objections.title': ['Objections', '异议处理'],
  'objections.intro': ['Objections to your unit’s licences (Art. 17). Answer each before its due date: correct the licence (a new version) or reject with a note.', '对本单位证照的异议（第十七条）。请在期限内处理：更正证照（生成新版本）或说明理由后驳回。'],
  'objections.overdue_count': ['{n} overdue', '{n} 件已超期'],
  'objections.none_overdue': ['None overdue.', '没有超期异议。'],
  'objections.none': ['No objections in this state.', '没有该状态的异议。'],
  'objection.state': ['State', '状态'],
  'objection.state.OPEN': ['Open', '待处理'],
  'objection.state.CORRECTED': ['Corrected', '已更正'],
  'objection.state.REJECTED': ['Rejected', '已驳回'],
  'objection.filed_at': ['Filed', '提出时间'],
  'objection.licence': ['Licence', '证照'],
  'objection.holder': ['Holder', '持证主体'],
  'objection.fields': ['Fields', '字段'],
  'objection.description': ['Description', '异议内容'],
  'objection.filed_by': ['Filed by', '提出人'],
  'objection.due': ['Due', '处理期限'],
  'objection.overdue': ['overdue', '已超期'],
  'objection.resolve': ['Resolve…', '处理…'],
  'objection.resolve_title': ['Resolve the objection', '处理异议'],
  'objection.outcome': ['Outcome', '处理结果'],
  'objection.outcome.REJECTED': ['Reject, with a note', '驳回（需说明）'],
  'objection.outcome.CORRECTED': ['Correct: issue a new version with the corrected data', '更正：以更正后的数据生成新版本'],
  'objection.note': ['Note', '说明'],
  'objection.corrected_data': ['Corrected data (JSON)', '更正后的数据（JSON）'],
  'objection.corrected_hint': ['The licence’s current data is filled in; change what the objection is right about.', '已填入证照当前数据，请修改异议所指的内容。'],
  'objection.submit': ['Resolve', '提交处理结果'],
  'objection.resolved': ['Objection {id} is now {state}.', '异议 {id} 已变为 {state}。'],
  'objection.new_version': ['New licence version:', '新证照版本：'],
};

const LANG_KEY = 'certd.console.lang';
let lang = 'en';

export const getLang = () => lang;

// has reports whether the dictionary has a key.
export const has = (key) => Object.hasOwn(DICT, key);

// t looks a key up in the current language; unknown keys show themselves.
// An argument may itself be a label, {i18n: key, raw: value} (raw when the
// dictionary lacks key), or a list of them; so it too follows a switch.
export function t(key, args) {
  const entry = has(key) ? DICT[key] : null;
  let s = entry ? entry[lang === 'zh' ? 1 : 0] : key;
  if (args) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in args ? argText(args[k]) : m));
  return s;
}

function argText(v) {
  if (Array.isArray(v)) return v.map(argText).join(lang === 'zh' ? '、' : ', ');
  if (v && typeof v === 'object' && typeof v.i18n === 'string') return has(v.i18n) ? t(v.i18n) : String(v.raw ?? v.i18n);
  return String(v);
}

export function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
}

// initLang takes the remembered language, else the browser's.
export function initLang() {
  let saved = null;
  try { saved = localStorage.getItem(LANG_KEY); } catch { /* storage unavailable */ }
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
  apply(saved === 'zh' || saved === 'en' ? saved : (nav.toLowerCase().startsWith('zh') ? 'zh' : 'en'));
}

// setLang switches and remembers the language (not a secret, so in
// localStorage), and re-labels the page.
export function setLang(l) {
  try { localStorage.setItem(LANG_KEY, l); } catch { /* storage unavailable */ }
  apply(l);
}

function apply(l) {
  lang = l === 'zh' ? 'zh' : 'en';
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  translate(document);
}

const args = (el, name) => {
  const raw = el.dataset[name];
  if (!raw) return undefined;
  try { return JSON.parse(raw); } catch { return undefined; }
};

// translate re-labels every element under root that carries a key.
export function translate(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n, args(el, 'i18nArgs'));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria, args(el, 'i18nAriaArgs')));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll('time[datetime]')) {
    if (!el.dataset.fixed) el.textContent = formatTime(el.getAttribute('datetime'));
  }
}

import { createContext, useContext } from 'react';

/** The console's words: zh-CN first, English as the switch. */
const zh = {
  title: '汇访控制台', signIn: '登录', login: '登录名', password: '密码', signOut: '退出', wrongLogin: '登录名或密码错误',
  tasks: '我的任务', cases: '客诉工单', dashboard: '经理看板', vehicle: '车辆', settings: '门店设置', language: 'English',
  dueNow: '当前待办', overdue: '已逾期', upcoming: '即将到期', store: '门店', empty: '暂无数据',
  customer: '客户', window: '联系时段', checklist: '回访要点', requiredWindow: '规定回访时间', requested: '客户约定时间', attempts: '拨打次数',
  history: '历史联系与短信', outcome: '记录结果', reached: '已接通', satisfied: '满意', csat: '满意度 (1-5)', nps: '推荐度 (0-10)',
  promisesKept: '承诺已兑现', complaint: '投诉内容', contactDataCorrect: '联系资料正确', correctedPhone: '更正手机号', note: '备注', save: '提交',
  reschedule: '改约时间', claim: '认领', reassign: '转派', assignee: '负责人', yes: '是', no: '否', saved: '已保存', caseOpened: '已生成客诉工单',
  level: '升级层级', deadline: '时限', workingLeft: '剩余工作时间', timeline: '处理记录', acknowledge: '确认受理', addNote: '添加备注',
  resolve: '结案', reopen: '重新打开', rootCause: '根本原因', confirmedVia: '客户确认方式', resolution: '处理结果', reason: '原因', status: '状态',
  opened: '创建时间', kpi: '指标', numerator: '分子', denominator: '分母', rate: '比率', trend: '趋势', week: '按周', month: '按月',
  ranking: '排名', rows: '明细', exportXlsx: '导出 Excel', overdueLists: '逾期清单', staffMember: '员工', vin: '车架号', model: '车型',
  schedule: '回访计划', messages: '短信', followUps: '回访', consents: '授权', plan: '联系计划', templates: '模板', hours: '营业时间与工单时限',
  staff: '员工', segments: '条短信', unknownVariable: '未知变量', preview: '预览', close: '关闭', period: '期间', minutes: '分钟', hoursShort: '小时',
  overdueBy: '已超时', level1: 'CR 专员', level2: '销售经理', level3: '总经理', open: '打开', noAccess: '无法打开此记录',
  weekdays: ['周一', '周二', '周三', '周四', '周五', '周六', '周日'], openDay: '营业', start: '开始', end: '结束',
  firstResponse: '首次响应时限（工作分钟）', resolutionTime: '结案时限（工作分钟）', smsFromLevel: '自第几级起短信通知', emailOnly: '仅邮件',
  timeFormat: '请按 HH:MM 填写，如 09:00', endAfterStart: '结束时间须晚于开始时间', oneOpenDay: '每周至少营业一天',
  holidays: '节假日与调休', holiday: '节假日', workday: '调休上班', date: '日期', name: '名称', add: '添加', remove: '删除', edit: '编辑',
  year: '年份', inYear: '日期须在所选年份内', listedAlready: '该日期已在列表中', bothLists: '同一天不能既放假又调休上班',
  calendarStore: '本店日历', calendarDefault: '全国节假日安排（修改后成为本店日历）', calendarNone: '仅按工作日',
  addStaff: '添加员工', role: '角色', phone: '手机号', email: '邮箱', active: '在职', team: '所属主管', externalId: '工号', cancel: '取消',
  externalIdTaken: '该工号已存在', phoneFormat: '请填写有效的电话号码', malformedPlaceholder: '变量格式有误，应写作 {{变量名}}', byTeam: '团队', noTeam: '无团队', clickPoint: '点击数据点查看明细',
  replacement: '置换初筛', vehicleAge: '车龄', ageYearsMonths: '{y} 年 {m} 个月', mileage: '预估里程', noReading: '无里程记录', lastService: '最近保养', noService: '无保养记录',
  why: '入选原因', whyAge: '车龄 {min}–{max} 个月', whyModel: '车型 {model}', whyAnyModel: '全部车型', whyMileage: '里程 ≥ {km} km', whyService: '{months} 个月内保养过',
  consultantColumn: '邀约顾问', left: '已离职', screenedAt: '筛选时间', decision: '结论', retryCall: '重试生成任务', callOpened: '已生成顾问邀约任务', dataFixOpened: '已生成资料更正工单',
  alreadyDecided: '该候选已有结论（可能已由他人处理），列表已刷新', callRefused: '无法生成顾问邀约任务，未做记录，候选仍待初筛：请改选其他结论',
  passOutage: '已转顾问邀约，但系统暂时不可用，邀约任务尚未生成。结论已保存，请稍后点「重试生成任务」（不会重复生成）', outage: '系统暂时不可用，请稍后重新提交（重复提交不会重复记录）',
  decisionHints: { pass: '转给销售顾问邀约到店，将生成顾问的邀约任务。', no_intent: '客户暂无置换意向，下一置换周期再筛选。', already_replaced: '客户已置换，此车不再筛选。', wrong_data: '资料有误，将生成资料更正工单给 CR。' } as Record<string, string>,
};
/** Codes the API answers (reasons, statuses, timeline events), as people read them. */
const zhCodes: Record<string, string> = {
  dissatisfied: '不满意', complaint: '投诉', 'customer-reply': '客户回复求助', 'data-fix': '资料需更正', manual: '人工创建',
  open: '处理中', resolved: '已解决', closed: '已关闭', all: '全部', opened: '创建', escalated: '升级', acknowledged: '已受理', note: '备注',
  consultant: '销售顾问', supervisor: '销售主管', cr_specialist: 'CR 专员', manager: '销售经理', general_manager: '总经理',
  service_advisor: '服务顾问', renewal_specialist: '续保专员',
  reassigned: '转派', reopened: '重新打开', done_on_time: '按时完成', done_late: '逾期完成', missed: '漏访', failed: '失败', cancelled: '已取消',
  delivered: '已送达', sent: '已发送', queued: '排队中', undelivered: '未送达', expired: '已过期', due: '待办', done: '已完成', scheduled: '计划中',
  pending: '待初筛', pass: '转顾问邀约', passed: '已转顾问邀约', no_intent: '无意向', already_replaced: '已置换', wrong_data: '资料有误',
};
type Words = typeof zh;
const en: Words = {
  title: 'Huifang console', signIn: 'Sign in', login: 'Login', password: 'Password', signOut: 'Sign out', wrongLogin: 'Wrong login or password',
  tasks: 'My tasks', cases: 'Case desk', dashboard: 'Dashboard', vehicle: 'Vehicle', settings: 'Store settings', language: '中文',
  dueNow: 'Due now', overdue: 'Overdue', upcoming: 'Upcoming', store: 'Store', empty: 'Nothing here',
  customer: 'Customer', window: 'Contact window', checklist: 'Points to mention', requiredWindow: 'Required window', requested: 'Customer asked for', attempts: 'Attempts',
  history: 'Earlier contacts and messages', outcome: 'Record the outcome', reached: 'Reached', satisfied: 'Satisfied', csat: 'CSAT (1-5)', nps: 'NPS (0-10)',
  promisesKept: 'Promises kept', complaint: 'Complaint', contactDataCorrect: 'Contact data correct', correctedPhone: 'Corrected mobile', note: 'Note', save: 'Submit',
  reschedule: 'Reschedule', claim: 'Claim', reassign: 'Reassign', assignee: 'Owner', yes: 'Yes', no: 'No', saved: 'Saved', caseOpened: 'A case was opened',
  level: 'Level', deadline: 'Deadline', workingLeft: 'Working time left', timeline: 'Timeline', acknowledge: 'Acknowledge', addNote: 'Add note',
  resolve: 'Resolve', reopen: 'Reopen', rootCause: 'Root cause', confirmedVia: 'Customer confirmed via', resolution: 'Resolution', reason: 'Reason', status: 'Status',
  opened: 'Opened', kpi: 'KPI', numerator: 'Numerator', denominator: 'Denominator', rate: 'Rate', trend: 'Trend', week: 'Weekly', month: 'Monthly',
  ranking: 'Ranking', rows: 'Rows', exportXlsx: 'Export to Excel', overdueLists: 'Overdue', staffMember: 'Staff member', vin: 'VIN', model: 'Model',
  schedule: 'Schedule', messages: 'Messages', followUps: 'Follow-ups', consents: 'Consents', plan: 'Contact plan', templates: 'Templates', hours: 'Working hours and case deadlines',
  staff: 'Staff', segments: 'SMS segments', unknownVariable: 'Unknown variable', preview: 'Preview', close: 'Close', period: 'Period', minutes: 'min', hoursShort: 'h',
  overdueBy: 'Overdue by', level1: 'CR specialist', level2: 'Sales manager', level3: 'General manager', open: 'Open', noAccess: 'This record cannot be opened',
  weekdays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'], openDay: 'Open', start: 'From', end: 'To',
  firstResponse: 'First response (working minutes)', resolutionTime: 'Resolution (working minutes)', smsFromLevel: 'SMS from ladder level', emailOnly: 'Email only',
  timeFormat: 'Use HH:MM, e.g. 09:00', endAfterStart: 'The end must come after the start', oneOpenDay: 'Open on at least one day a week',
  holidays: 'Holidays and make-up days', holiday: 'Holiday', workday: 'Make-up working day', date: 'Date', name: 'Name', add: 'Add', remove: 'Remove', edit: 'Edit',
  year: 'Year', inYear: 'The date must lie in the chosen year', listedAlready: 'This date is listed already', bothLists: 'A day cannot be both a holiday and a working day',
  calendarStore: 'The store\'s own calendar', calendarDefault: 'Mainland China schedule (a change makes it the store\'s own)', calendarNone: 'Weekdays only',
  addStaff: 'Add staff member', role: 'Role', phone: 'Mobile', email: 'Email', active: 'Active', team: 'Supervisor', externalId: 'Staff number', cancel: 'Cancel',
  externalIdTaken: 'This staff number exists already', phoneFormat: 'Enter a valid phone number', malformedPlaceholder: 'Malformed placeholder: write {{variableName}}', byTeam: 'Team', noTeam: 'No team', clickPoint: 'Click a point for its rows',
  replacement: 'Replacement pre-screening', vehicleAge: 'Age', ageYearsMonths: '{y} y {m} m', mileage: 'Forecast mileage', noReading: 'No reading', lastService: 'Last service', noService: 'No service known',
  why: 'Screened for', whyAge: 'age {min}-{max} months', whyModel: 'model {model}', whyAnyModel: 'any model', whyMileage: 'mileage ≥ {km} km', whyService: 'serviced within {months} months',
  consultantColumn: 'Consultant', left: 'left', screenedAt: 'Screened', decision: 'Decision', retryCall: 'Open the call again', callOpened: 'The consultant\'s outreach call is open', dataFixOpened: 'A data-fix case was opened',
  alreadyDecided: 'This candidate has a decision already (someone else may have decided it); the list is refreshed', callRefused: 'No outreach call can be opened; nothing was recorded and the candidate is still pending: choose another decision',
  passOutage: 'Passed, but the system is unavailable just now and the call is not open yet. The decision is kept: use "Open the call again" later (it opens one call only)', outage: 'The system is unavailable just now: submit again later (a repeat records nothing twice)',
  decisionHints: { pass: 'Pass to the sales consultant, who gets an outreach call to invite the customer.', no_intent: 'No intent to replace now: screened again next cycle.', already_replaced: 'Already replaced: this vehicle is not screened again.', wrong_data: 'Wrong data: a data-fix case goes to CR.' },
};
export const WORDS = { zh, en };
/** English shows a code itself; the replacement decisions read as words. */
const enCodes: Record<string, string> = { no_intent: 'no intent', already_replaced: 'already replaced', wrong_data: 'wrong data' };
const CODES: Record<keyof typeof WORDS, Record<string, string>> = { zh: zhCodes, en: enCodes };
export type Lang = keyof typeof WORDS;
export const LangContext = createContext<{ lang: Lang; t: Words; setLang: (l: Lang) => void }>({ lang: 'zh', t: zh, setLang: () => undefined });
export const useT = () => {
  const value = useContext(LangContext);
  /** A code's words in the current language (English shows the code itself). */
  const code = (c: string) => CODES[value.lang][c] ?? c;
  return { ...value, code };
};

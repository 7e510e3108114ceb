import { App, Button, Card, DatePicker, Form, Input, InputNumber, Modal, Radio, Select, Space, Spin, Switch, Table, Tabs, Tag, Typography } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { MARKETING_OPT_OUT_SUFFIX, smsSegments } from '../../../src/domain/sms-segments';
import { api, must, problem, showIssues } from '../api/client';
import type { paths } from '../api/schema';
import { windowOf } from '../format';
import { useT } from '../i18n';
import { useSession } from '../session';

type Template = paths['/v1/stores/{storeId}/templates']['get']['responses'][200]['content']['application/json'][number];
type Preview = paths['/v1/stores/{storeId}/plan/preview']['post']['responses'][200]['content']['application/json'];
type Calendar = paths['/v1/stores/{storeId}/calendar/{year}']['get']['responses'][200]['content']['application/json'];
type Policy = paths['/v1/stores/{storeId}/case-policy']['get']['responses'][200]['content']['application/json'];
type Staff = paths['/v1/stores/{storeId}/staff']['get']['responses'][200]['content']['application/json'][number];

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;
/** The variables the send activity fills (src/domain/templates.ts); the server checks the same on save. */
const SAMPLES: Record<string, string> = { customerName: '王女士', storeName: '汇方汽车浦东店', consultantName: '李明', consultantPhone: '139 0000 1111', serviceHotline: '400 800 1234', vehicleModel: 'Model Y' };

/** Store settings for managers: the plan with its dated preview, templates, working hours and holidays, staff. */
export default function Settings() {
  const { t } = useT();
  return (
    <section aria-labelledby="settings-title">
      <Typography.Title level={2} id="settings-title" style={{ fontSize: 20 }}>{t.settings}</Typography.Title>
      <Tabs items={[
        { key: 'plan', label: t.plan, children: <PlanPreview /> },
        { key: 'templates', label: t.templates, children: <Templates /> },
        { key: 'hours', label: t.hours, children: <Hours /> },
        { key: 'holidays', label: t.holidays, children: <Holidays /> },
        { key: 'staff', label: t.staff, children: <StaffList /> },
      ]} />
    </section>
  );
}

function PlanPreview() {
  const { t } = useT();
  const { storeId } = useSession();
  const [at, setAt] = useState<Dayjs>(dayjs());
  const [preview, setPreview] = useState<Preview>();
  useEffect(() => void must(api.POST('/v1/stores/{storeId}/plan/preview', { params: { path: { storeId } }, body: { deliveredAt: at.toISOString() } })).then(setPreview), [storeId, at]);
  return (
    <Card size="small" title={<Space>{t.preview}<DatePicker aria-label={t.preview} showTime value={at} allowClear={false} onChange={(v) => v && setAt(v)} /></Space>}>
      <Table rowKey="key" size="small" pagination={false} dataSource={preview?.steps} loading={!preview} scroll={{ x: 'max-content' }} columns={[
        { title: t.checklist, dataIndex: 'title' }, { title: 'kind', dataIndex: 'kind' }, { title: 'role', dataIndex: 'role' }, { title: 'channel', dataIndex: 'channel' },
        { title: t.requiredWindow, render: (_, s) => windowOf(s.dueStart, s.dueEnd) },
      ]} />
    </Card>
  );
}

function Templates() {
  const { t } = useT();
  const { message } = App.useApp();
  const { storeId } = useSession();
  const [templates, setTemplates] = useState<Template[]>([]);
  const [picked, setPicked] = useState<string>();
  const [body, setBody] = useState('');
  useEffect(() => void must(api.GET('/v1/stores/{storeId}/templates', { params: { path: { storeId } } })).then(setTemplates), [storeId]);
  const idOf = (x: Template) => `${x.key}/${x.locale}/${x.channel}`;
  const template = templates.find((x) => idOf(x) === picked);
  const [refused, setRefused] = useState<string[]>([]);
  const check = useMemo(() => {
    const used = [...body.matchAll(PLACEHOLDER)].map((m) => m[1]);
    const unknown = used.filter((v) => !(v in SAMPLES) || !template?.variables.includes(v));
    // What the sender sends: the samples filled in, and a marketing SMS's opt-out hint (src/domain/templates.ts).
    const optOut = template?.channel === 'sms' && template.purpose === 'marketing' ? MARKETING_OPT_OUT_SUFFIX[template.locale] : '';
    const rendered = body.replace(PLACEHOLDER, (_m, name: string) => SAMPLES[name] ?? '') + optOut;
    return { unknown: [...new Set(unknown)], malformed: /\{\{|\}\}/.test(body.replace(PLACEHOLDER, '')), size: smsSegments(rendered) };
  }, [body, template]);
  const save = async () => {
    if (!template) return;
    const { error } = await api.PUT('/v1/stores/{storeId}/templates/{key}/{locale}/{channel}', {
      params: { path: { storeId, key: template.key, locale: template.locale, channel: template.channel } },
      body: { purpose: template.purpose, body, variables: template.variables, ...(template.subject && { subject: template.subject }) },
    });
    // The API's objections to the text show under it; anything else as a toast.
    const issues = (error as { issues?: { field: string; message: string }[] } | undefined)?.issues ?? [];
    setRefused(issues.filter((i) => i.field === 'body').map((i) => i.message));
    if (error && !issues.some((i) => i.field === 'body')) message.error(problem(error));
    else if (!error) message.success(t.saved);
  };
  return (
    <Card size="small">
      <Space direction="vertical" style={{ width: '100%' }}>
        <Select aria-label={t.templates} style={{ minWidth: 320 }} value={picked} placeholder={t.templates}
          options={templates.map((x) => ({ value: idOf(x), label: `${x.key} · ${x.locale} · ${x.channel} (${x.source})` }))}
          onChange={(v: string) => { setPicked(v); setBody(templates.find((x) => idOf(x) === v)?.body ?? ''); }} />
        {template && (<>
          <Input.TextArea aria-label={t.templates} rows={5} value={body} status={refused.length ? 'error' : undefined}
            onChange={(e) => { setBody(e.target.value); setRefused([]); }} />
          {refused.map((m) => <Typography.Text key={m} type="danger" role="alert">{m}</Typography.Text>)}
          <Space wrap>
            {template.channel === 'sms' && <Tag color={check.size.segments > 1 ? 'warning' : 'success'}>{check.size.segments} {t.segments} · {check.size.characters} · {check.size.encoding}</Tag>}
            {check.unknown.map((v) => <Tag key={v} color="error">{t.unknownVariable}: {v}</Tag>)}
            {check.malformed && <Tag color="error">{t.malformedPlaceholder}</Tag>}
            <Typography.Text type="secondary">{template.variables.map((v) => `{{${v}}}`).join(' ')}</Typography.Text>
          </Space>
          <Button type="primary" disabled={check.unknown.length > 0 || check.malformed} onClick={save}>{t.save}</Button>
        </>)}
      </Space>
    </Card>
  );
}

const HHMM = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;
type DayForm = { open: boolean; start?: string; end?: string };
type PolicyForm = Omit<Policy, 'storeId' | 'openingHours'> & { days: DayForm[] };

/** Opening hours and case deadlines: case deadlines count in these hours (the API checks the same rules again). */
function Hours() {
  const { t } = useT();
  const { message } = App.useApp();
  const { storeId } = useSession();
  const [form] = Form.useForm<PolicyForm>();
  const [loaded, setLoaded] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => void must(api.GET('/v1/stores/{storeId}/case-policy', { params: { path: { storeId } } })).then((p) => {
    // 0 stands for "email only" (null): a Select shows its placeholder for a null value.
    form.setFieldsValue({ ...p, smsFromLevel: p.smsFromLevel ?? 0, days: p.openingHours.map((h) => (h ? { open: true, ...h } : { open: false })) });
    setLoaded(true);
  }), [storeId, form]);
  const save = async (v: PolicyForm) => {
    setBusy(true);
    const { error } = await api.PUT('/v1/stores/{storeId}/case-policy', {
      params: { path: { storeId } },
      body: {
        openingHours: v.days.map((d) => (d.open ? { start: d.start!, end: d.end! } : null)),
        firstResponseMinutes: v.firstResponseMinutes, resolutionMinutes: v.resolutionMinutes, smsFromLevel: v.smsFromLevel || null,
      },
    });
    setBusy(false);
    // The API names openingHours.<day>.<start|end>; the form keeps the days under "days".
    if (error) showIssues(form, error, (f) => f.replace(/^openingHours/, 'days')).forEach((m) => message.error(m));
    else message.success(t.saved);
  };
  const time = (i: number, which: 'start' | 'end') => (
    <Form.Item name={['days', i, which]} dependencies={[['days', i, 'open'], ...(which === 'end' ? [['days', i, 'start']] : [])]} style={{ marginBottom: 0 }}
      rules={[({ getFieldValue }) => ({
        validator: async (_r, value?: string) => {
          if (!getFieldValue(['days', i, 'open'])) return;
          if (!value || !HHMM.test(value)) throw new Error(t.timeFormat);
          const start: string | undefined = getFieldValue(['days', i, 'start']);
          if (which === 'end' && start && HHMM.test(start) && value <= start) throw new Error(t.endAfterStart);
        },
      })]}>
      <Input aria-label={`${t.weekdays[i]} ${t[which]}`} placeholder={which === 'start' ? '09:00' : '18:00'} style={{ width: 96 }} maxLength={5} />
    </Form.Item>
  );
  return (
    <Card size="small" title={t.hours}>
      <Spin spinning={!loaded}>
        <Form form={form} name="hours" layout="vertical" onFinish={save} requiredMark={false} style={{ maxWidth: 560 }}>
          <div role="group" aria-label={t.hours}>
            {t.weekdays.map((day, i) => (
              <Space key={day} align="start" style={{ display: 'flex', marginBottom: 8 }}>
                <span style={{ display: 'inline-block', width: 48, lineHeight: '32px' }}>{day}</span>
                <Form.Item name={['days', i, 'open']} valuePropName="checked" style={{ marginBottom: 0 }}>
                  <Switch aria-label={`${day} ${t.openDay}`} checkedChildren={t.openDay} />
                </Form.Item>
                <Form.Item noStyle dependencies={[['days', i, 'open']]}>
                  {({ getFieldValue }) => getFieldValue(['days', i, 'open']) && <Space align="start">{time(i, 'start')}<span style={{ lineHeight: '32px' }}>–</span>{time(i, 'end')}</Space>}
                </Form.Item>
              </Space>
            ))}
          </div>
          <Space wrap size="large">
            <Form.Item label={t.firstResponse} name="firstResponseMinutes" rules={[{ required: true }, { type: 'integer', min: 1, max: 60 * 24 * 30 }]}>
              <InputNumber min={1} precision={0} style={{ width: 160 }} />
            </Form.Item>
            <Form.Item label={t.resolutionTime} name="resolutionMinutes" rules={[{ required: true }, { type: 'integer', min: 1, max: 60 * 24 * 90 }]}>
              <InputNumber min={1} precision={0} style={{ width: 160 }} />
            </Form.Item>
            <Form.Item label={t.smsFromLevel} name="smsFromLevel">
              <Select style={{ width: 160 }} options={[{ value: 0, label: t.emailOnly }, ...[1, 2, 3].map((l) => ({ value: l, label: `${l}` }))]} />
            </Form.Item>
          </Space>
          <Form.Item noStyle shouldUpdate>
            {({ getFieldValue }) => {
              const closed = !(getFieldValue('days') as DayForm[] | undefined)?.some((d) => d?.open);
              return <Space>
                <Button type="primary" htmlType="submit" loading={busy} disabled={closed}>{t.save}</Button>
                {closed && <Typography.Text type="danger" role="alert">{t.oneOpenDay}</Typography.Text>}
              </Space>;
            }}
          </Form.Item>
        </Form>
      </Spin>
    </Card>
  );
}

type DayRow = { date: string; name: string; kind: 'holidays' | 'workdays' };
type DayForm2 = { date?: Dayjs; name?: string; kind: DayRow['kind'] };

/** A year's holidays and make-up working days: each addition or removal is saved at once (the whole year, as the API takes it). */
function Holidays() {
  const { t } = useT();
  const { message } = App.useApp();
  const { storeId } = useSession();
  const thisYear = dayjs().year();
  const [year, setYear] = useState(thisYear);
  const [calendar, setCalendar] = useState<Calendar>();
  const [form] = Form.useForm<DayForm2>();
  const [busy, setBusy] = useState(false);
  useEffect(() => void must(api.GET('/v1/stores/{storeId}/calendar/{year}', { params: { path: { storeId, year } } })).then(setCalendar), [storeId, year]);
  const days: DayRow[] = calendar ? [
    ...calendar.holidays.map((d) => ({ ...d, kind: 'holidays' as const })),
    ...calendar.workdays.map((d) => ({ ...d, kind: 'workdays' as const })),
  ].sort((a, b) => a.date.localeCompare(b.date)) : [];
  const put = async (next: { holidays: Calendar['holidays']; workdays: Calendar['workdays'] }, added?: DayRow) => {
    setBusy(true);
    const { data, error } = await api.PUT('/v1/stores/{storeId}/calendar/{year}', { params: { path: { storeId, year } }, body: next });
    setBusy(false);
    if (data) {
      setCalendar(data);
      message.success(t.saved);
      return true;
    }
    // The new day is the last of its list: its errors belong on the form's fields.
    const index = added ? `${added.kind}.${next[added.kind].length - 1}.` : '-';
    showIssues(form, error, (f) => (f.startsWith(index) ? f.slice(index.length) : f)).forEach((m) => message.error(m));
    return false;
  };
  const add = async (v: DayForm2) => {
    if (!calendar) return;
    const row = { date: v.date!.format('YYYY-MM-DD'), name: v.name!.trim(), kind: v.kind };
    if (await put({ holidays: calendar.holidays, workdays: calendar.workdays, [row.kind]: [...calendar[row.kind], { date: row.date, name: row.name }] }, row)) form.resetFields();
  };
  const remove = (row: DayRow) => calendar && put({ holidays: calendar.holidays, workdays: calendar.workdays, [row.kind]: calendar[row.kind].filter((d) => d.date !== row.date) });
  const sourceText = { store: t.calendarStore, default: t.calendarDefault, none: t.calendarNone };
  return (
    <Card size="small" title={<Space wrap>{t.holidays}
      <Select aria-label={t.year} value={year} onChange={setYear} options={[thisYear - 1, thisYear, thisYear + 1].map((y) => ({ value: y, label: y }))} />
      {calendar && <Typography.Text type="secondary">{sourceText[calendar.source]}</Typography.Text>}</Space>}>
      <Form form={form} name="holiday" layout="inline" onFinish={add} initialValues={{ kind: 'holidays' }} requiredMark={false} style={{ rowGap: 8, marginBottom: 12 }}>
        <Form.Item label={t.date} name="date" dependencies={['kind']} rules={[{ required: true }, ({ getFieldValue }) => ({
          validator: async (_r, d?: Dayjs) => {
            if (!d || !calendar) return;
            if (d.year() !== year) throw new Error(t.inYear);
            const date = d.format('YYYY-MM-DD');
            const kind: DayRow['kind'] = getFieldValue('kind');
            if (calendar[kind].some((x) => x.date === date)) throw new Error(t.listedAlready);
            if (calendar[kind === 'holidays' ? 'workdays' : 'holidays'].some((x) => x.date === date)) throw new Error(t.bothLists);
          },
        })]}>
          <DatePicker defaultPickerValue={year === thisYear ? undefined : dayjs(`${year}-01-01`)} />
        </Form.Item>
        <Form.Item label={t.name} name="name" rules={[{ required: true, whitespace: true }, { max: 60 }]}><Input style={{ width: 180 }} /></Form.Item>
        <Form.Item name="kind"><Radio.Group optionType="button" options={[{ value: 'holidays', label: t.holiday }, { value: 'workdays', label: t.workday }]} /></Form.Item>
        <Button type="primary" htmlType="submit" loading={busy}>{t.add}</Button>
      </Form>
      {/* The whole year in one scrolling list (at most 90 days): a day just added is in it, wherever it sorts. */}
      <Table<DayRow> rowKey={(d) => `${d.kind}/${d.date}`} size="small" dataSource={days} loading={!calendar} pagination={false} scroll={{ y: 420 }} columns={[
        { title: t.date, dataIndex: 'date' }, { title: t.name, dataIndex: 'name' },
        { title: t.status, dataIndex: 'kind', render: (k: DayRow['kind']) => <Tag color={k === 'holidays' ? 'red' : 'blue'}>{k === 'holidays' ? t.holiday : t.workday}</Tag> },
        { title: '', key: 'remove', render: (_, d) => <Button size="small" danger disabled={busy} autoInsertSpace={false} aria-label={`${t.remove} ${d.date}`} onClick={() => void remove(d)}>{t.remove}</Button> },
      ]} />
    </Card>
  );
}

const ROLES = ['consultant', 'supervisor', 'cr_specialist', 'manager', 'general_manager', 'service_advisor', 'renewal_specialist'] as const;
type StaffForm = { externalId: string; name: string; role: (typeof ROLES)[number]; phone?: string; email?: string; active: boolean; supervisorExternalId?: string | null };

/** The store's staff: add a person or change their role, team or status (the DMS sync uses the same route). */
function StaffList() {
  const { t, code } = useT();
  const { message } = App.useApp();
  const { storeId } = useSession();
  const [staff, setStaff] = useState<Staff[]>();
  const [editing, setEditing] = useState<Staff | 'new'>();
  const [form] = Form.useForm<StaffForm>();
  const [busy, setBusy] = useState(false);
  const load = useCallback(() => void must(api.GET('/v1/stores/{storeId}/staff', { params: { path: { storeId } } })).then(setStaff), [storeId]);
  useEffect(load, [load]);
  const supervisors = (staff ?? []).filter((s) => s.role === 'supervisor' && s.active);
  const nameOf = (id: string | null) => staff?.find((s) => s.id === id)?.name ?? '—';
  const open = (s: Staff | 'new') => {
    setEditing(s);
    form.resetFields();
    if (s !== 'new') {
      form.setFieldsValue({
        externalId: s.externalId, name: s.name, role: s.role as StaffForm['role'], active: s.active,
        supervisorExternalId: staff?.find((x) => x.id === s.supervisorId)?.externalId ?? null,
      });
    }
  };
  const save = async ({ externalId, phone, email, ...v }: StaffForm) => {
    setBusy(true);
    const { error } = await api.PUT('/v1/stores/{storeId}/staff/{externalId}', {
      params: { path: { storeId, externalId: externalId.trim() } },
      body: { ...v, ...(phone && { phone }), ...(email && { email }), supervisorExternalId: v.role === 'consultant' ? v.supervisorExternalId ?? null : undefined },
    });
    setBusy(false);
    if (error) showIssues(form, error).forEach((m) => message.error(m));
    else {
      message.success(t.saved);
      setEditing(undefined);
      load();
    }
  };
  return (
    <Card size="small" title={t.staff} extra={<Button type="primary" size="small" onClick={() => open('new')}>{t.addStaff}</Button>}>
      <Table rowKey="id" size="small" loading={!staff} dataSource={staff} scroll={{ x: 'max-content' }} pagination={{ pageSize: 20, hideOnSinglePage: true }} columns={[
        { title: t.staffMember, dataIndex: 'name' }, { title: t.externalId, dataIndex: 'externalId' }, { title: t.role, dataIndex: 'role', render: code },
        { title: t.team, dataIndex: 'supervisorId', render: nameOf },
        { title: t.status, dataIndex: 'active', render: (a: boolean) => <Tag color={a ? 'success' : 'default'}>{a ? t.active : '—'}</Tag> },
        { title: '', key: 'edit', render: (_, s) => <Button size="small" autoInsertSpace={false} aria-label={`${t.edit} ${s.name}`} onClick={() => open(s)}>{t.edit}</Button> },
      ]} />
      <Modal open={!!editing} title={editing === 'new' ? t.addStaff : t.edit} onCancel={() => setEditing(undefined)} okText={t.save} cancelText={t.cancel}
        onOk={() => form.submit()} confirmLoading={busy} forceRender>
        <Form form={form} name="staff" layout="vertical" onFinish={save} initialValues={{ role: 'consultant', active: true }} requiredMark={false}>
          <Form.Item label={t.externalId} name="externalId" rules={[{ required: true, whitespace: true }, { max: 64 },
            { validator: async (_r, v?: string) => { if (editing === 'new' && staff?.some((s) => s.externalId === v?.trim())) throw new Error(t.externalIdTaken); } }]}>
            <Input disabled={editing !== 'new'} />
          </Form.Item>
          <Form.Item label={t.staffMember} name="name" rules={[{ required: true, whitespace: true }, { max: 100 }]}><Input /></Form.Item>
          <Form.Item label={t.role} name="role" rules={[{ required: true }]}><Select options={ROLES.map((r) => ({ value: r, label: code(r) }))} /></Form.Item>
          <Form.Item noStyle dependencies={['role']}>
            {({ getFieldValue }) => getFieldValue('role') === 'consultant' && (
              <Form.Item label={t.team} name="supervisorExternalId">
                <Select allowClear options={[{ value: null, label: t.noTeam }, ...supervisors.map((s) => ({ value: s.externalId, label: s.name }))]} />
              </Form.Item>
            )}
          </Form.Item>
          <Form.Item label={t.phone} name="phone" rules={[{ pattern: /^\+?[\d\s-]{6,20}$/, message: t.phoneFormat }]}><Input inputMode="tel" autoComplete="off" /></Form.Item>
          <Form.Item label={t.email} name="email" rules={[{ type: 'email' }, { max: 254 }]}><Input autoComplete="off" /></Form.Item>
          <Form.Item label={t.active} name="active" valuePropName="checked"><Switch /></Form.Item>
        </Form>
      </Modal>
    </Card>
  );
}

import { App, Button, Card, DatePicker, Input, Select, Space, Table, Tabs, Tag, Typography } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useEffect, useMemo, useState } from 'react';
import { smsSegments } from '../../../src/domain/sms-segments';
import { api, must, problem } from '../api/client';
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
const WEEKDAYS = ['一', '二', '三', '四', '五', '六', '日'];

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
  const check = useMemo(() => {
    const used = [...body.matchAll(PLACEHOLDER)].map((m) => m[1]);
    const unknown = used.filter((v) => !(v in SAMPLES) || !template?.variables.includes(v));
    const rendered = body.replace(PLACEHOLDER, (_m, name: string) => SAMPLES[name] ?? '');
    return { unknown: [...new Set(unknown)], size: smsSegments(rendered) };
  }, [body, template]);
  const save = async () => {
    if (!template) return;
    const { error } = await api.PUT('/v1/stores/{storeId}/templates/{key}/{locale}/{channel}', {
      params: { path: { storeId, key: template.key, locale: template.locale, channel: template.channel } },
      body: { purpose: template.purpose, body, variables: template.variables, ...(template.subject && { subject: template.subject }) },
    });
    if (error) message.error(problem(error));
    else message.success(t.saved);
  };
  return (
    <Card size="small">
      <Space direction="vertical" style={{ width: '100%' }}>
        <Select aria-label={t.templates} style={{ minWidth: 320 }} value={picked} placeholder={t.templates}
          options={templates.map((x) => ({ value: idOf(x), label: `${x.key} · ${x.locale} · ${x.channel} (${x.source})` }))}
          onChange={(v: string) => { setPicked(v); setBody(templates.find((x) => idOf(x) === v)?.body ?? ''); }} />
        {template && (<>
          <Input.TextArea aria-label={t.templates} rows={5} value={body} onChange={(e) => setBody(e.target.value)} />
          <Space wrap>
            {template.channel === 'sms' && <Tag color={check.size.segments > 1 ? 'warning' : 'success'}>{check.size.segments} {t.segments} · {check.size.characters} · {check.size.encoding}</Tag>}
            {check.unknown.map((v) => <Tag key={v} color="error">{t.unknownVariable}: {v}</Tag>)}
            <Typography.Text type="secondary">{template.variables.map((v) => `{{${v}}}`).join(' ')}</Typography.Text>
          </Space>
          <Button type="primary" disabled={check.unknown.length > 0} onClick={save}>{t.save}</Button>
        </>)}
      </Space>
    </Card>
  );
}

function Hours() {
  const { t } = useT();
  const { storeId } = useSession();
  const [policy, setPolicy] = useState<Policy>();
  const [calendar, setCalendar] = useState<Calendar>();
  const year = dayjs().year();
  useEffect(() => {
    void must(api.GET('/v1/stores/{storeId}/case-policy', { params: { path: { storeId } } })).then(setPolicy);
    void must(api.GET('/v1/stores/{storeId}/calendar/{year}', { params: { path: { storeId, year } } })).then(setCalendar);
  }, [storeId, year]);
  const days = [
    ...(calendar?.holidays ?? []).map((d) => ({ ...d, kind: 'holiday' })),
    ...(calendar?.workdays ?? []).map((d) => ({ ...d, kind: 'workday' })),
  ].sort((a, b) => a.date.localeCompare(b.date));
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Card size="small" title={t.hours}>
        <Space wrap>{policy?.openingHours.map((h, i) => <Tag key={i}>{WEEKDAYS[i]} {h ? `${h.start}-${h.end}` : '—'}</Tag>)}</Space>
      </Card>
      <Card size="small" title={`${year} (${calendar?.source ?? ''})`}>
        <Table rowKey={(d) => `${d.kind}/${d.date}`} size="small" dataSource={days} pagination={{ pageSize: 15, hideOnSinglePage: true }} columns={[
          { title: t.opened, dataIndex: 'date' }, { title: t.note, dataIndex: 'name' },
          { title: t.status, dataIndex: 'kind', render: (k: string) => <Tag color={k === 'holiday' ? 'red' : 'blue'}>{k === 'holiday' ? '休' : '班'}</Tag> },
        ]} />
      </Card>
    </Space>
  );
}

function StaffList() {
  const { t } = useT();
  const { storeId } = useSession();
  const [staff, setStaff] = useState<Staff[]>();
  useEffect(() => void must(api.GET('/v1/stores/{storeId}/staff', { params: { path: { storeId } } })).then(setStaff), [storeId]);
  return (
    <Table rowKey="id" size="small" loading={!staff} dataSource={staff} pagination={{ pageSize: 20, hideOnSinglePage: true }} columns={[
      { title: t.staffMember, dataIndex: 'name' }, { title: 'ID', dataIndex: 'externalId' }, { title: 'role', dataIndex: 'role' },
      { title: t.status, dataIndex: 'active', render: (a: boolean) => <Tag color={a ? 'success' : 'default'}>{a ? 'active' : '—'}</Tag> },
    ]} />
  );
}

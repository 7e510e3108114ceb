import { App, Button, Card, DatePicker, Descriptions, Drawer, Form, Input, Result, Select, Space, Table, Tag, Timeline, Typography } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useCallback, useEffect, useState } from 'react';
import { api, idempotencyKey, must, problem } from '../api/client';
import type { paths } from '../api/schema';
import { statusColor, when } from '../format';
import { useT } from '../i18n';
import { useSession } from '../session';

type CaseRow = paths['/v1/cases']['get']['responses'][200]['content']['application/json']['cases'][number];
type CaseDetail = paths['/v1/cases/{id}']['get']['responses'][200]['content']['application/json'];
type OpeningHours = paths['/v1/stores/{storeId}/case-policy']['get']['responses'][200]['content']['application/json']['openingHours'];
const ROOT_CAUSES = ['product-quality', 'sales-process', 'delivery-process', 'staff-attitude', 'price-or-contract', 'after-sales-service', 'contact-data', 'customer-expectation', 'other'];
const CHANNELS = ['phone', 'sms', 'email', 'in_person'];

/**
 * Working minutes between now and a deadline under the store's opening hours (Monday first), in
 * the browser's clock; negative when past. Holidays are in the deadline itself (the server's).
 */
export function workingMinutesLeft(dueAt: string, hours: OpeningHours | undefined, now = dayjs()): number {
  const due = dayjs(dueAt);
  const [from, to, sign] = due.isAfter(now) ? [now, due, 1] : [due, now, -1];
  if (!hours) return sign * to.diff(from, 'minute');
  let minutes = 0;
  for (let day = from.startOf('day'); day.isBefore(to); day = day.add(1, 'day')) {
    const open = hours[(day.day() + 6) % 7];
    if (!open) continue;
    const at = (hhmm: string) => day.add(Number(hhmm.slice(0, 2)), 'hour').add(Number(hhmm.slice(3, 5)), 'minute');
    const start = dayjs(Math.max(at(open.start).valueOf(), from.valueOf()));
    const end = dayjs(Math.min(at(open.end).valueOf(), to.valueOf()));
    if (end.isAfter(start)) minutes += end.diff(start, 'minute');
  }
  return sign * minutes;
}

function Countdown({ dueAt, hours }: { dueAt: string | null; hours?: OpeningHours }) {
  const { t } = useT();
  if (!dueAt) return <span>—</span>;
  const left = workingMinutesLeft(dueAt, hours);
  const text = `${Math.floor(Math.abs(left) / 60)}${t.hoursShort} ${Math.abs(left) % 60}${t.minutes}`;
  return left < 0 ? <Tag color="error">{t.overdueBy} {text}</Tag> : <Tag color={left < 60 ? 'warning' : 'blue'}>{text}</Tag>;
}

/** The case desk: open cases by their running deadline, each with its whole timeline and the desk's actions. */
export default function Cases({ id }: { id?: string }) {
  const { t, code } = useT();
  const { storeId } = useSession();
  const [status, setStatus] = useState<'open' | 'resolved' | 'all'>('open');
  const [cases, setCases] = useState<CaseRow[]>();
  const [hours, setHours] = useState<OpeningHours>();
  const [staff, setStaff] = useState<{ id: string; name: string; role: string; active: boolean }[]>([]);
  const load = useCallback(async () => setCases((await must(api.GET('/v1/cases', { params: { query: { storeId, status, limit: 200 } } }))).cases), [storeId, status]);
  useEffect(() => void load(), [load]);
  useEffect(() => {
    void api.GET('/v1/stores/{storeId}/case-policy', { params: { path: { storeId } } }).then(({ data }) => setHours(data?.openingHours));
    void api.GET('/v1/stores/{storeId}/staff', { params: { path: { storeId } } }).then(({ data }) => setStaff(data ?? []));
  }, [storeId]);
  const name = (staffId: string | null) => staff.find((s) => s.id === staffId)?.name ?? staffId?.slice(0, 8) ?? '—';
  const levelName = (level: number) => t[`level${level}` as 'level1'] ?? String(level);
  return (
    <section aria-labelledby="cases-title">
      <Typography.Title level={2} id="cases-title" style={{ fontSize: 20 }}>{t.cases}</Typography.Title>
      <Select aria-label={t.status} value={status} onChange={setStatus} style={{ marginBottom: 12, minWidth: 140 }}
        options={(['open', 'resolved', 'all'] as const).map((s) => ({ value: s, label: code(s) }))} />
      <Table<CaseRow>
        rowKey="id" loading={!cases} dataSource={cases} size="middle" scroll={{ x: 800 }} pagination={{ pageSize: 20, hideOnSinglePage: true }}
        onRow={(c) => ({ onClick: () => (window.location.hash = `#/cases/${c.id}`), style: { cursor: 'pointer' } })}
        columns={[
          { title: t.reason, render: (_, c) => <a href={`#/cases/${c.id}`}>{code(c.reason)}</a> },
          { title: t.workingLeft, render: (_, c) => (c.status === 'open' ? <Countdown dueAt={c.dueAt} hours={hours} /> : '—') },
          { title: t.level, render: (_, c) => <Tag color={c.level > 1 ? 'volcano' : 'geekblue'}>{c.level} · {levelName(c.level)}</Tag> },
          { title: t.assignee, render: (_, c) => name(c.assigneeId) },
          { title: t.status, render: (_, c) => <Tag color={statusColor(c.status)}>{code(c.status)}</Tag> },
          { title: t.opened, render: (_, c) => when(c.createdAt) },
          { title: t.complaint, dataIndex: 'detail', ellipsis: true },
        ]}
      />
      {id && <CaseCard id={id} hours={hours} staff={staff.filter((s) => s.active)} name={name} onChanged={load} />}
    </section>
  );
}

function CaseCard({ id, hours, staff, name, onChanged }: { id: string; hours?: OpeningHours; staff: { id: string; name: string; role: string }[]; name: (id: string | null) => string; onChanged: () => void }) {
  const { t, code } = useT();
  const { message } = App.useApp();
  const [c, setCase] = useState<CaseDetail | null>();
  const [note, setNote] = useState('');
  useEffect(() => void api.GET('/v1/cases/{id}', { params: { path: { id } } }).then(({ data }) => setCase(data ?? null)), [id]);
  const close = () => (window.location.hash = '#/cases');
  const act = async (call: Promise<{ data?: CaseDetail; error?: unknown }>) => {
    const { data, error } = await call;
    if (error || !data) return void message.error(problem(error));
    setCase(data);
    setNote('');
    message.success(t.saved);
    onChanged();
  };
  const header = { 'idempotency-key': idempotencyKey() };
  const path = { id };
  return (
    <Drawer open onClose={close} size={Math.min(720, window.innerWidth)} title={c ? `${c.customer.name} · ${code(c.reason)}` : t.cases} closable={{ 'aria-label': t.close }}>
      {c === undefined ? null : c === null ? <Result status="404" title={t.noAccess} /> : (
        <Space direction="vertical" size="middle" style={{ width: '100%' }}>
          <Descriptions size="small" column={1} bordered items={[
            { label: t.customer, children: `${c.customer.name} · ${c.customer.phone}` },
            { label: t.vehicle, children: <a href={`#/vehicle/${c.deliveryId}`}>{c.vehicle.model} · {c.vehicle.vin}</a> },
            { label: t.status, children: <Tag color={statusColor(c.status)}>{code(c.status)}</Tag> },
            { label: t.level, children: c.level },
            { label: t.assignee, children: name(c.assigneeId) },
            { label: t.deadline, children: <span>{when(c.dueAt)} {c.status === 'open' && <Countdown dueAt={c.dueAt} hours={hours} />}</span> },
            { label: t.complaint, children: c.detail ?? '—' },
          ]} />
          <Card size="small" title={t.timeline}>
            <Timeline items={c.timeline.map((e) => ({
              content: <span>{when(e.at)} · <b>{code(e.kind)}</b>{e.level ? ` · L${e.level}` : ''}{e.toAssigneeId ? ` → ${name(e.toAssigneeId)}` : ''}{e.detail ? ` · ${e.detail}` : ''}</span>,
            }))} />
          </Card>
          {c.status === 'open' && (
            <Space direction="vertical" style={{ width: '100%' }}>
              <Input.TextArea aria-label={t.note} placeholder={t.note} value={note} onChange={(e) => setNote(e.target.value)} rows={2} maxLength={2000} />
              <Space wrap>
                {!c.acknowledgedAt && <Button type="primary" onClick={() => act(api.POST('/v1/cases/{id}/acknowledge', { params: { path, header }, body: note ? { note } : {} }))}>{t.acknowledge}</Button>}
                <Button disabled={!note.trim()} onClick={() => act(api.POST('/v1/cases/{id}/notes', { params: { path, header }, body: { note } }))}>{t.addNote}</Button>
                <Select aria-label={t.reassign} placeholder={t.reassign} style={{ minWidth: 180 }} options={staff.map((s) => ({ value: s.id, label: `${s.name} (${s.role})` }))}
                  onChange={(assigneeId: string) => act(api.POST('/v1/cases/{id}/reassign', { params: { path, header }, body: { assigneeId, ...(note && { note }) } }))} />
              </Space>
              <Card size="small" title={t.resolve}>
                <Form layout="vertical" onFinish={(v: { rootCause: string; channel: string; at: Dayjs; resolution: string }) => act(api.POST('/v1/cases/{id}/resolve', {
                  params: { path, header },
                  body: { rootCause: v.rootCause as never, resolution: v.resolution, confirmation: { channel: v.channel as never, at: v.at.toISOString() } },
                }))}>
                  <Form.Item name="rootCause" label={t.rootCause} rules={[{ required: true }]}><Select options={ROOT_CAUSES.map((r) => ({ value: r, label: r }))} /></Form.Item>
                  <Form.Item name="channel" label={t.confirmedVia} rules={[{ required: true }]}><Select options={CHANNELS.map((r) => ({ value: r, label: r }))} /></Form.Item>
                  <Form.Item name="at" label={t.confirmedVia} initialValue={dayjs()} rules={[{ required: true }]}><DatePicker showTime /></Form.Item>
                  <Form.Item name="resolution" label={t.resolution} rules={[{ required: true }]}><Input.TextArea rows={2} maxLength={2000} /></Form.Item>
                  <Button htmlType="submit">{t.resolve}</Button>
                </Form>
              </Card>
            </Space>
          )}
          {c.status === 'resolved' && (
            <Space>
              <Input aria-label={t.reason} placeholder={t.reason} value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} />
              <Button disabled={!note.trim()} onClick={() => act(api.POST('/v1/cases/{id}/reopen', { params: { path, header }, body: { reason: note } }))}>{t.reopen}</Button>
            </Space>
          )}
        </Space>
      )}
    </Drawer>
  );
}

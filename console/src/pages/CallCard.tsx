import { App, Button, Card, Checkbox, DatePicker, Descriptions, Drawer, Empty, Form, Input, InputNumber, List, Radio, Result, Select, Space, Tag } from 'antd';
import type { Dayjs } from 'dayjs';
import { useEffect, useState } from 'react';
import { api, idempotencyKey, problem } from '../api/client';
import type { paths } from '../api/schema';
import { statusColor, when, windowOf } from '../format';
import { useT } from '../i18n';
import { useSession } from '../session';

type Task = paths['/v1/tasks/{id}']['get']['responses'][200]['content']['application/json'];
type Outcome = paths['/v1/tasks/{id}/complete']['post']['requestBody']['content']['application/json'];

/** The call card: who to call and when (H-1), what to say (H-2), the car, the history, and the outcome form. */
export default function CallCard({ id, onClose, onChanged }: { id: string; onClose: () => void; onChanged: () => void }) {
  const { t, code } = useT();
  const { message } = App.useApp();
  const { me, storeId, roles } = useSession();
  const [task, setTask] = useState<Task | null>();
  const [history, setHistory] = useState<paths['/v1/deliveries/{id}']['get']['responses'][200]['content']['application/json']>();
  const [staff, setStaff] = useState<{ id: string; name: string; role: string }[]>([]);
  const [form] = Form.useForm();
  const reached = Form.useWatch('reached', form);

  useEffect(() => {
    void (async () => {
      const { data } = await api.GET('/v1/tasks/{id}', { params: { path: { id } } });
      setTask(data ?? null);
      if (!data) return;
      const delivery = await api.GET('/v1/deliveries/{id}', { params: { path: { id: data.deliveryId } } });
      setHistory(delivery.data);
    })();
    if (!roles.includes('consultant')) {
      void api.GET('/v1/stores/{storeId}/staff', { params: { path: { storeId } } }).then(({ data }) => setStaff((data ?? []).filter((s) => s.active)));
    }
  }, [id, storeId, roles]);

  const act = async (call: Promise<{ data?: Task & { caseId?: string | null }; error?: unknown }>) => {
    const { data, error } = await call;
    if (error || !data) return void message.error(problem(error));
    setTask(data);
    message.success(data.caseId ? t.caseOpened : t.saved);
    onChanged();
    if (data.status !== 'open') onClose();
  };
  const complete = (values: Outcome & { correctedPhone?: string }) => {
    const { correctedPhone, ...outcome } = values;
    const body: Outcome = { ...outcome, ...(correctedPhone && { correctedContact: { phone: correctedPhone } }) };
    if (!body.reached) for (const k of ['satisfied', 'csat', 'nps', 'promisesKept', 'complaint'] as const) delete body[k];
    return act(api.POST('/v1/tasks/{id}/complete', { params: { path: { id }, header: { 'idempotency-key': idempotencyKey() } }, body }));
  };
  const mine = me.memberships.some((m) => m.staffId === task?.assigneeId);
  return (
    <Drawer open onClose={onClose} size={Math.min(720, window.innerWidth)} title={task ? `${task.customer.name} · ${task.vehicle.model}` : t.outcome} closable={{ 'aria-label': t.close }}>
      {task === undefined ? null : task === null ? <Result status="404" title={t.noAccess} /> : (
        <Space direction="vertical" size="middle" style={{ width: '100%' }}>
          <Descriptions size="small" column={1} bordered items={[
            { label: t.customer, children: <span>{task.customer.name} · <a href={`tel:${task.customer.phone}`}>{task.customer.phone}</a></span> },
            { label: t.window, children: <Tag color="blue">{task.customer.contactWindow}</Tag> },
            { label: t.vehicle, children: <a href={`#/vehicle/${task.deliveryId}`}>{task.vehicle.model} · {task.vehicle.vin}</a> },
            { label: t.requiredWindow, children: <span>{windowOf(task.dueStart, task.dueEnd)} {task.overdue && <Tag color="error">{t.overdue}</Tag>}</span> },
            { label: t.requested, children: when(task.requestedAt) },
            { label: t.attempts, children: `${task.attempts} / ${task.maxAttempts}` },
          ]} />
          <Card size="small" title={t.checklist}>
            {task.checklist.length ? <ul style={{ margin: 0, paddingInlineStart: 20 }}>{task.checklist.map((c) => <li key={c}>{c}</li>)}</ul> : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} />}
          </Card>
          <Card size="small" title={t.history}>
            <List size="small" dataSource={[
              ...(history?.followUps ?? []).filter((f) => f.id !== task.id && f.status !== 'open').map((f) => ({ key: f.id, at: f.dueEnd, text: f.stepKey, status: f.status })),
              ...(history?.messages ?? []).map((m) => ({ key: m.id, at: m.createdAt, text: `${m.channel}: ${m.body}`, status: m.status })),
            ].sort((a, b) => b.at.localeCompare(a.at))}
            renderItem={(row) => <List.Item><span>{when(row.at)} · {row.text}</span><Tag color={statusColor(row.status)}>{code(row.status)}</Tag></List.Item>} />
          </Card>
          <Space wrap>
            {!task.assigneeId && <Button onClick={() => act(api.POST('/v1/tasks/{id}/claim', { params: { path: { id } } }))}>{t.claim}</Button>}
            {staff.length > 0 && (
              <Select aria-label={t.reassign} placeholder={t.reassign} style={{ minWidth: 180 }} value={task.assigneeId ?? undefined}
                options={staff.map((s) => ({ value: s.id, label: `${s.name} (${s.role})` }))}
                onChange={(assigneeId: string) => act(api.POST('/v1/tasks/{id}/reassign', { params: { path: { id } }, body: { assigneeId } }))} />
            )}
            <DatePicker showTime={{ format: 'HH:mm' }} aria-label={t.reschedule} placeholder={t.reschedule}
              onChange={(at: Dayjs | null) => at && act(api.POST('/v1/tasks/{id}/reschedule', { params: { path: { id }, header: { 'idempotency-key': idempotencyKey() } }, body: { at: at.toISOString() } }))} />
          </Space>
          {task.status === 'open' && (task.assigneeId === null || mine || !roles.includes('consultant')) && (
            <Card size="small" title={t.outcome}>
              <Form form={form} layout="vertical" onFinish={complete} initialValues={{ reached: true }}>
                <Form.Item name="reached" label={t.reached}><YesNo /></Form.Item>
                {reached && (<>
                  <Form.Item name="satisfied" label={t.satisfied} rules={[{ required: true }]}><YesNo /></Form.Item>
                  {task.survey && (<Space wrap>
                    <Form.Item name="csat" label={t.csat}><InputNumber min={1} max={5} /></Form.Item>
                    <Form.Item name="nps" label={t.nps}><InputNumber min={0} max={10} /></Form.Item>
                  </Space>)}
                  <Form.Item name="promisesKept" valuePropName="checked"><Checkbox>{t.promisesKept}</Checkbox></Form.Item>
                  <Form.Item name="complaint" label={t.complaint}><Input.TextArea rows={2} maxLength={2000} /></Form.Item>
                </>)}
                <Form.Item name="contactDataCorrect" label={t.contactDataCorrect}><YesNo /></Form.Item>
                <Form.Item name="correctedPhone" label={t.correctedPhone}><Input inputMode="tel" maxLength={20} /></Form.Item>
                <Form.Item name="note" label={t.note}><Input.TextArea rows={2} maxLength={2000} /></Form.Item>
                <Button type="primary" htmlType="submit">{t.save}</Button>
              </Form>
            </Card>
          )}
        </Space>
      )}
    </Drawer>
  );
}

function YesNo(props: { value?: boolean; onChange?: (v: boolean) => void; id?: string }) {
  const { t } = useT();
  return (
    <Radio.Group id={props.id} value={props.value} onChange={(e) => props.onChange?.(e.target.value)} optionType="button"
      options={[{ value: true, label: t.yes }, { value: false, label: t.no }]} />
  );
}

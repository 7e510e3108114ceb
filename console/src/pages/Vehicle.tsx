import { Card, Col, Descriptions, Result, Row, Table, Tag, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { paths } from '../api/schema';
import { statusColor, when, windowOf } from '../format';
import { useT } from '../i18n';

type Delivery = paths['/v1/deliveries/{id}']['get']['responses'][200]['content']['application/json'];
type CaseRow = paths['/v1/cases']['get']['responses'][200]['content']['application/json']['cases'][number];
type Consents = paths['/v1/customers/{id}/consents']['get']['responses'][200]['content']['application/json'];

/** One car's life with the store: its schedule, every message, follow-up and case, and the customer's consents. */
export default function Vehicle({ id }: { id?: string }) {
  const { t, code } = useT();
  const [delivery, setDelivery] = useState<Delivery | null>();
  const [cases, setCases] = useState<CaseRow[]>([]);
  const [consents, setConsents] = useState<Consents>();
  useEffect(() => {
    if (!id) return setDelivery(null);
    void (async () => {
      const { data } = await api.GET('/v1/deliveries/{id}', { params: { path: { id } } });
      setDelivery(data ?? null);
      if (!data) return;
      void api.GET('/v1/cases', { params: { query: { deliveryId: id, status: 'all', limit: 200 } } }).then(({ data: c }) => setCases(c?.cases ?? []));
      void api.GET('/v1/customers/{id}/consents', { params: { path: { id: data.customerId } } }).then(({ data: c }) => setConsents(c));
    })();
  }, [id]);
  if (delivery === undefined) return null;
  if (delivery === null) return <Result status="404" title={t.noAccess} />;
  const steps = delivery.workflow?.steps ?? delivery.followUps.map((f) => ({ key: f.stepKey, status: f.status, dueStart: f.dueStart, dueEnd: f.dueEnd }));
  return (
    <section aria-labelledby="vehicle-title">
      <Typography.Title level={2} id="vehicle-title" style={{ fontSize: 20 }}>{t.vehicle} {delivery.vin}</Typography.Title>
      <Descriptions size="small" bordered column={{ xs: 1, md: 3 }} items={[
        { label: t.vin, children: delivery.vin }, { label: t.opened, children: when(delivery.deliveredAt) }, { label: t.status, children: delivery.status },
      ]} />
      <Row gutter={[12, 12]} style={{ marginTop: 12 }}>
        <Col xs={24} xl={12}>
          <Card size="small" title={t.schedule}>
            <Table rowKey="key" size="small" pagination={false} dataSource={steps} scroll={{ x: 'max-content' }} columns={[
              { title: t.checklist, dataIndex: 'key' }, { title: t.requiredWindow, render: (_, s) => windowOf(s.dueStart, s.dueEnd) },
              { title: t.status, dataIndex: 'status', render: (s: string) => <Tag color={statusColor(s)}>{code(s)}</Tag> },
            ]} />
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          <Card size="small" title={t.messages}>
            <Table rowKey="id" size="small" pagination={{ pageSize: 10, hideOnSinglePage: true }} dataSource={delivery.messages} scroll={{ x: 'max-content' }} columns={[
              { title: t.opened, dataIndex: 'createdAt', render: when }, { title: 'channel', dataIndex: 'channel' }, { title: 'template', dataIndex: 'templateKey' },
              { title: t.status, dataIndex: 'status', render: (s: string) => <Tag color={statusColor(s)}>{code(s)}</Tag> },
            ]} />
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          <Card size="small" title={t.followUps}>
            <Table rowKey="id" size="small" pagination={false} dataSource={delivery.followUps} scroll={{ x: 'max-content' }} columns={[
              { title: t.checklist, dataIndex: 'stepKey', render: (k: string, f) => <a href={`#/tasks/${f.id}`}>{k}</a> },
              { title: t.requiredWindow, render: (_, f) => windowOf(f.dueStart, f.dueEnd) },
              { title: t.status, dataIndex: 'status', render: (s: string) => <Tag color={statusColor(s)}>{code(s)}</Tag> },
            ]} />
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          <Card size="small" title={t.cases}>
            <Table rowKey="id" size="small" pagination={false} dataSource={cases} columns={[
              { title: t.reason, dataIndex: 'reason', render: (r: string, c) => <a href={`#/cases/${c.id}`}>{code(r)}</a> }, { title: t.level, dataIndex: 'level' },
              { title: t.status, dataIndex: 'status', render: (s: string) => <Tag color={statusColor(s)}>{code(s)}</Tag> },
            ]} />
          </Card>
          <Card size="small" title={t.consents} style={{ marginTop: 12 }}>
            <Table rowKey={(c) => `${c.channel}/${c.purpose}`} size="small" pagination={false} dataSource={consents?.consents ?? []} columns={[
              { title: 'channel', dataIndex: 'channel' }, { title: 'purpose', dataIndex: 'purpose' },
              { title: t.status, dataIndex: 'granted', render: (g: boolean) => <Tag color={g ? 'success' : 'default'}>{g ? t.yes : t.no}</Tag> },
              { title: t.opened, dataIndex: 'updatedAt', render: when },
            ]} />
          </Card>
        </Col>
      </Row>
    </section>
  );
}

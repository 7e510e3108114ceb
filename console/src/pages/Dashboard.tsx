import { Button, Card, Col, DatePicker, Drawer, Radio, Row, Segmented, Select, Space, Statistic, Table, Tag, Typography } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import dayjs, { type Dayjs } from 'dayjs';
import { lazy, Suspense, useEffect, useState } from 'react';
import { api, must } from '../api/client';
import type { paths } from '../api/schema';
import { statusColor, when } from '../format';
import { useT } from '../i18n';
import { useSession } from '../session';
import { exportXlsx } from '../xlsx';

const TrendChart = lazy(() => import('./Chart'));

type Kpi = paths['/v1/kpis']['get']['responses'][200]['content']['application/json']['kpis'][number];
type Metric = paths['/v1/kpis/ranking']['get']['parameters']['query']['metric'];
type RankingRow = paths['/v1/kpis/ranking']['get']['responses'][200]['content']['application/json']['ranking'][number];
type AuditGroup = paths['/v1/audits/follow-ups']['get']['responses'][200]['content']['application/json']['groups'][number];
type Figure = paths['/v1/audits/follow-ups/rows']['get']['parameters']['query']['figure'];
type Row = Record<string, unknown>;

const METRICS: Metric[] = ['timeliness', 'satisfaction', 'recordingCompletion', 'dataAccuracy', 'appointmentRate'];
const FIGURES: Figure[] = ['due', 'onTime', 'late', 'missed', 'overdue', 'recordedLate'];
const day = (d: Dayjs) => d.format('YYYY-MM-DD');

/** The last periods (weeks from Monday, or months), oldest first, as the API's from/to dates. */
function periods(unit: 'week' | 'month', count: number): { label: string; from: string; to: string }[] {
  const today = dayjs();
  const start = unit === 'week' ? today.subtract((today.day() + 6) % 7, 'day').startOf('day') : today.startOf('month');
  return Array.from({ length: count }, (_, i) => {
    const from = start.subtract(count - 1 - i, unit);
    return { label: from.format(unit === 'week' ? 'MM-DD' : 'YYYY-MM'), from: day(from), to: day(from.add(1, unit)) };
  });
}

const RANKING_ROLES = ['cr_specialist', 'manager', 'general_manager'];
type TrendBy = 'store' | 'team' | 'staff';
type Span = ReturnType<typeof periods>[number];
type Point = { numerator: number; denominator: number; rate: number | null };
/** One line of a trend: its points per period and the scopes (store, staff members) whose rows lie behind them. */
type Series = { name: string; points: Point[]; scopes: { storeId: string; staffId?: string }[] };
type Trend = { periods: Span[]; series: Series[] };

const rateOf = (numerator: number, denominator: number) => (denominator ? Math.round((numerator / denominator) * 1000) / 10 : null);

/**
 * A KPI per period by store (each store of a group role), staff member (the ranking), or team
 * (a supervisor and their consultants, as the audit groups them: the members' fractions added up).
 */
async function trendOf(by: TrendBy, metric: Metric, spans: Span[], stores: string[], storeId: string, noTeam: string): Promise<Trend> {
  if (by === 'store') {
    const values = await Promise.all(stores.map((s) => Promise.all(spans.map((p) => must(api.GET('/v1/kpis', { params: { query: { storeId: s, from: p.from, to: p.to } } }))))));
    return {
      periods: spans,
      series: stores.map((s, i) => ({
        name: s, scopes: [{ storeId: s }],
        points: values[i].map((v) => {
          const k = v.kpis.find((x) => x.key === metric);
          return { numerator: k?.numerator ?? 0, denominator: k?.denominator ?? 0, rate: k?.rate ?? null };
        }),
      })),
    };
  }
  const [values, staff] = await Promise.all([
    Promise.all(spans.map((p) => must(api.GET('/v1/kpis/ranking', { params: { query: { storeId, from: p.from, to: p.to, metric } } })))),
    by === 'team' ? must(api.GET('/v1/stores/{storeId}/staff', { params: { path: { storeId } } })) : Promise.resolve([]),
  ]);
  const groupOf = (staffId: string, name: string): { id: string; name: string } => {
    if (by === 'staff') return { id: staffId, name };
    const person = staff.find((s) => s.id === staffId);
    const lead = person?.role === 'supervisor' ? person : staff.find((s) => s.id === person?.supervisorId);
    return lead ? { id: lead.id, name: lead.name } : { id: '', name: noTeam };
  };
  const groups = new Map<string, Series>();
  values.forEach((v, i) => v.ranking.forEach((r) => {
    const g = groupOf(r.staffId, r.name);
    const series = groups.get(g.id) ?? { name: g.name, scopes: [], points: spans.map(() => ({ numerator: 0, denominator: 0, rate: null })) };
    groups.set(g.id, series);
    if (!series.scopes.some((x) => x.staffId === r.staffId)) series.scopes.push({ storeId, staffId: r.staffId });
    const point = series.points[i];
    point.numerator += r.numerator;
    point.denominator += r.denominator;
    point.rate = rateOf(point.numerator, point.denominator);
  }));
  return { periods: spans, series: [...groups.values()].sort((a, b) => a.name.localeCompare(b.name, 'zh-CN')) };
}

/** A table with its export: every table on the dashboard can go to Excel. */
function Exportable<T extends Row>({ title, name, columns, rows, rowKey, loading }: { title: string; name: string; columns: ColumnsType<T>; rows?: T[]; rowKey: string; loading?: boolean }) {
  const { t } = useT();
  const plain = columns.map((c) => ({ title: String(c.title), key: String((c as { dataIndex?: string }).dataIndex ?? c.key) }));
  return (
    <Card size="small" title={title} extra={<Button size="small" disabled={!rows?.length} onClick={() => exportXlsx(name, plain, rows ?? [])}>{t.exportXlsx}</Button>}>
      <Table<T> rowKey={rowKey} columns={columns} dataSource={rows} loading={loading} size="small" scroll={{ x: 'max-content' }} pagination={{ pageSize: 10, hideOnSinglePage: true }} />
    </Card>
  );
}

/** The manager's dashboard: KPIs with their fractions and rows, trends, the ranking, the audit by person, team and store, and what is overdue. */
export default function Dashboard() {
  const { t, lang, code } = useT();
  const { storeId, me, roles } = useSession();
  const ranks = roles.some((r) => RANKING_ROLES.includes(r));
  // A group role sees its stores side by side: every store where it reads the store's KPIs.
  const groupStores = [...new Set(me.memberships.filter((m) => RANKING_ROLES.includes(m.role)).map((m) => m.storeId))];
  const trendStores = groupStores.length > 1 && groupStores.includes(storeId) ? groupStores : [storeId];
  const [range, setRange] = useState<[Dayjs, Dayjs]>([dayjs().subtract(30, 'day').startOf('day'), dayjs().add(1, 'day').startOf('day')]);
  const period = { storeId, from: day(range[0]), to: day(range[1]) };
  const [kpis, setKpis] = useState<Kpi[]>();
  const [drill, setDrill] = useState<{ title: string; rows: Row[]; columns: ColumnsType<Row> }>();
  const [metric, setMetric] = useState<Metric>('satisfaction');
  const [unit, setUnit] = useState<'week' | 'month'>('week');
  const [by, setBy] = useState<TrendBy>('store');
  const [trend, setTrend] = useState<Trend>();
  const [ranking, setRanking] = useState<RankingRow[]>();
  const [auditBy, setAuditBy] = useState<'staff' | 'team' | 'store'>('staff');
  const [audit, setAudit] = useState<AuditGroup[]>();
  const [overdueTasks, setOverdueTasks] = useState<Row[]>();
  const [overdueCases, setOverdueCases] = useState<Row[]>();
  const key = `${period.from}/${period.to}/${storeId}`;

  useEffect(() => {
    void must(api.GET('/v1/kpis', { params: { query: period } })).then((r) => setKpis(r.kpis));
    void must(api.GET('/v1/tasks', { params: { query: { storeId, due: 'overdue', limit: 200 } } }))
      .then((r) => setOverdueTasks(r.tasks.map((x) => ({ id: x.id, customer: x.customer.name, stepKey: x.stepKey, dueEnd: when(x.dueEnd), assigneeId: x.assigneeId }))));
    void must(api.GET('/v1/cases', { params: { query: { storeId, overdue: 'true', limit: 200 } } }))
      .then((r) => setOverdueCases(r.cases.map((c) => ({ id: c.id, reason: c.reason, level: c.level, dueAt: when(c.dueAt), assigneeId: c.assigneeId }))));
  }, [key]);
  useEffect(() => void must(api.GET('/v1/kpis/ranking', { params: { query: { ...period, metric } } })).then((r) => setRanking(r.ranking)), [key, metric]);
  useEffect(() => void must(api.GET('/v1/audits/follow-ups', { params: { query: { ...period, by: auditBy } } })).then((r) => setAudit(r.groups)), [key, auditBy]);
  useEffect(() => {
    setTrend(undefined);
    void trendOf(by, metric, periods(unit, unit === 'week' ? 8 : 6), trendStores, storeId, t.noTeam).then(setTrend);
  }, [storeId, metric, unit, by, trendStores.join(), t.noTeam]);

  /** The rows behind a KPI, for the period, store and people given (a team: each member's rows). */
  const openRows = async (key: Kpi['key'], title: string, scopes: { storeId: string; from: string; to: string; staffId?: string }[]) => {
    const pages = await Promise.all(scopes.map((q) => must(api.GET('/v1/kpis/{key}/rows', { params: { path: { key }, query: { ...q, limit: 500 } } }))));
    const rows = pages.flatMap((p) => p.items as Row[]);
    const columns: ColumnsType<Row> = pages[0]?.subject !== 'delivery'
      ? [
        { title: 'ID', dataIndex: 'followUpId', render: (v: string, r) => <a href={`#/vehicle/${r.deliveryId}`}>{v.slice(0, 8)}</a> },
        { title: t.requiredWindow, dataIndex: 'dueEnd', render: when },
        { title: t.status, dataIndex: 'status', render: (s: string) => <Tag color={statusColor(s)}>{code(s)}</Tag> },
        { title: t.satisfied, dataIndex: 'satisfied', render: yesNo(t) }, { title: t.csat, dataIndex: 'csat' }, { title: t.nps, dataIndex: 'nps' },
        { title: t.numerator, dataIndex: 'inNumerator', render: yesNo(t) },
      ]
      : [
        { title: 'ID', dataIndex: 'deliveryId', render: (v: string) => <a href={`#/vehicle/${v}`}>{v.slice(0, 8)}</a> },
        { title: t.opened, dataIndex: 'deliveredAt', render: when }, { title: t.status, dataIndex: 'status' },
        { title: t.numerator, dataIndex: 'inNumerator', render: yesNo(t) },
      ];
    setDrill({ title, rows, columns });
  };
  const openKpiRows = (kpi: Kpi) => openRows(kpi.key, kpi.label[lang], [{ storeId, from: period.from, to: period.to }]);
  const metricLabel = kpis?.find((k) => k.key === metric)?.label[lang] ?? metric;
  const openPoint = (series: number, index: number) => {
    if (!trend) return;
    const s = trend.series[series];
    const p = trend.periods[index];
    if (!s?.points[index]?.denominator) return;
    void openRows(metric, `${metricLabel} · ${s.name} · ${p.label}`, s.scopes.map((scope) => ({ ...scope, from: p.from, to: p.to })));
  };
  const openAuditRows = async (group: AuditGroup, figure: Figure) => {
    const page = await must(api.GET('/v1/audits/follow-ups/rows', { params: { query: { ...period, by: auditBy, figure, groupId: group.groupId ?? 'none' } } }));
    setDrill({
      title: `${group.name ?? '—'} · ${figure}`, rows: page.items,
      columns: [
        { title: 'ID', dataIndex: 'followUpId', render: (v: string, r) => <a href={`#/vehicle/${r.deliveryId}`}>{v.slice(0, 8)}</a> },
        { title: t.checklist, dataIndex: 'stepKey' }, { title: t.requiredWindow, dataIndex: 'dueEnd', render: when },
        { title: t.status, dataIndex: 'status', render: (s: string) => <Tag color={statusColor(s)}>{code(s)}</Tag> },
      ],
    });
  };

  return (
    <section aria-labelledby="dashboard-title">
      <Space wrap style={{ marginBottom: 12 }}>
        <Typography.Title level={2} id="dashboard-title" style={{ fontSize: 20, margin: 0 }}>{t.dashboard}</Typography.Title>
        <DatePicker.RangePicker aria-label={t.period} value={range} allowClear={false} onChange={(v) => v?.[0] && v[1] && setRange([v[0], v[1]])} />
      </Space>
      <Row gutter={[12, 12]}>
        {(kpis ?? []).map((k) => (
          <Col key={k.key} xs={12} md={8} xl={4}>
            <Card size="small" hoverable onClick={() => openKpiRows(k)} data-kpi={k.key} role="button" tabIndex={0}
              onKeyDown={(e) => e.key === 'Enter' && openKpiRows(k)}>
              <Statistic title={k.label[lang]} value={headline(k) ?? '—'} suffix={headline(k) === null || k.key === 'nps' || k.key === 'csat' ? '' : '%'} />
              <Typography.Text type="secondary" data-fraction>{k.numerator} / {k.denominator}</Typography.Text>
            </Card>
          </Col>
        ))}
      </Row>
      <Row gutter={[12, 12]} style={{ marginTop: 12 }}>
        <Col xs={24} xl={14}>
          <Card size="small" title={t.trend} extra={<Space wrap>
            <Select aria-label={t.kpi} value={metric} onChange={setMetric} style={{ minWidth: 160 }}
              options={METRICS.map((m) => ({ value: m, label: kpis?.find((k) => k.key === m)?.label[lang] ?? m }))} />
            <Segmented value={unit} onChange={(v) => setUnit(v as 'week' | 'month')} options={[{ value: 'week', label: t.week }, { value: 'month', label: t.month }]} />
            {ranks && <Radio.Group value={by} onChange={(e) => setBy(e.target.value)} optionType="button"
              options={[{ value: 'store', label: t.store }, { value: 'team', label: t.byTeam }, { value: 'staff', label: t.staffMember }]} />}
          </Space>}>
            <Suspense fallback={<div style={{ height: 280 }} />}>
              {trend && <TrendChart title={`${t.trend} · ${metricLabel}`} labels={trend.periods.map((p) => p.label)} onPoint={openPoint}
                series={trend.series.map((s) => ({ name: s.name, data: s.points.map((x) => x.rate) }))} />}
            </Suspense>
            {/* The chart's numbers as a table: read by screen readers, each fraction opens its rows. */}
            <Exportable<Row> title={t.clickPoint} name={`trend-${metric}-${by}-${unit}`} rowKey="name" loading={!trend}
              rows={trend?.series.map((s) => ({ name: s.name, ...Object.fromEntries(s.points.map((x, i) => [trend.periods[i].label, x.rate === null ? '' : `${x.rate}% (${x.numerator}/${x.denominator})`])) }))}
              columns={[{ title: by === 'store' ? t.store : by === 'team' ? t.byTeam : t.staffMember, dataIndex: 'name', fixed: 'left' },
                ...(trend?.periods ?? []).map((p, i) => ({
                  title: p.label, dataIndex: p.label,
                  render: (v: string, r: Row) => (v ? <Button type="link" size="small" style={{ padding: 0 }} onClick={() => openPoint(trend!.series.findIndex((s) => s.name === r.name), i)}>{v}</Button> : '—'),
                }))]} />
          </Card>
        </Col>
        <Col xs={24} xl={10}>
          <Exportable<RankingRow & Row> title={t.ranking} name={`ranking-${metric}`} rowKey="staffId" rows={ranking as (RankingRow & Row)[]} loading={!ranking}
            columns={[{ title: '#', dataIndex: 'rank' }, { title: t.staffMember, dataIndex: 'name' }, { title: t.numerator, dataIndex: 'numerator' },
              { title: t.denominator, dataIndex: 'denominator' }, { title: t.rate, dataIndex: 'rate', render: (v: number) => `${v}%` }]} />
        </Col>
        <Col xs={24}>
          <Card size="small" title={t.followUps} extra={<Radio.Group value={auditBy} onChange={(e) => setAuditBy(e.target.value)} optionType="button"
            options={[{ value: 'staff', label: t.staffMember }, { value: 'team', label: t.byTeam }, { value: 'store', label: t.store }]} />}>
            <Exportable<AuditGroup & Row> title="" name={`audit-${auditBy}`} rowKey="groupId" rows={audit as (AuditGroup & Row)[]} loading={!audit}
              columns={[{ title: t.staffMember, dataIndex: 'name', render: (v: string | null) => v ?? '—' },
                ...FIGURES.map((f) => ({ title: f, dataIndex: f, render: (v: number, g: AuditGroup & Row) => (v ? <a onClick={() => openAuditRows(g, f)}>{v}</a> : v) }))]} />
          </Card>
        </Col>
        <Col xs={24} md={12}>
          <Exportable title={`${t.overdueLists} · ${t.tasks}`} name="overdue-tasks" rowKey="id" rows={overdueTasks} loading={!overdueTasks}
            columns={[{ title: t.customer, dataIndex: 'customer', render: (v: string, r) => <a href={`#/tasks/${r.id}`}>{v}</a> }, { title: t.checklist, dataIndex: 'stepKey' }, { title: t.requiredWindow, dataIndex: 'dueEnd' }]} />
        </Col>
        <Col xs={24} md={12}>
          <Exportable title={`${t.overdueLists} · ${t.cases}`} name="overdue-cases" rowKey="id" rows={overdueCases} loading={!overdueCases}
            columns={[{ title: t.reason, dataIndex: 'reason', render: (v: string, r) => <a href={`#/cases/${r.id}`}>{code(v)}</a> }, { title: t.level, dataIndex: 'level' }, { title: t.deadline, dataIndex: 'dueAt' }]} />
        </Col>
      </Row>
      <Drawer open={!!drill} onClose={() => setDrill(undefined)} size={Math.min(900, window.innerWidth)} title={drill?.title} closable={{ 'aria-label': t.close }}>
        {drill && <Exportable title={t.rows} name="rows" rowKey={drill.columns[0] && 'dataIndex' in drill.columns[0] ? String(drill.columns[0].dataIndex) : 'id'} rows={drill.rows} columns={drill.columns} />}
      </Drawer>
    </section>
  );
}

/** The number a KPI is read by: NPS its score, CSAT its mean answer, the rest their rate. */
const headline = (k: Kpi) => (k.key === 'nps' ? k.score : k.key === 'csat' ? k.mean : k.rate);
const yesNo = (t: { yes: string; no: string }) => (v: boolean | null) => (v === null ? '—' : v ? t.yes : t.no);

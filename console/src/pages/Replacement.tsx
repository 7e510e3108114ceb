import { Alert, App, Button, Input, Modal, Segmented, Space, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { api, must, problem } from '../api/client';
import type { paths } from '../api/schema';
import { maskedPhone, when } from '../format';
import { useT } from '../i18n';
import { useSession } from '../session';

type Candidate = paths['/v1/stores/{storeId}/replacement-candidates']['get']['responses'][200]['content']['application/json']['candidates'][number];
type Criteria = paths['/v1/stores/{storeId}/replacement-criteria']['get']['responses'][200]['content']['application/json']['criteria'];
type Status = NonNullable<paths['/v1/stores/{storeId}/replacement-candidates']['get']['parameters']['query']>['status'] & string;
type Decision = paths['/v1/replacement-candidates/{id}/decision']['post']['requestBody']['content']['application/json']['decision'];

const STATUSES: Status[] = ['pending', 'passed', 'no_intent', 'already_replaced', 'wrong_data'];
const DECISIONS: Decision[] = ['pass', 'no_intent', 'already_replaced', 'wrong_data'];
/** What the API answered a decision with, as the page tells it; `retry` repeats a pass whose call is still to open. */
type Notice = { type: 'success' | 'warning' | 'error'; title: string; detail?: string; retry?: () => void };

/** Short figures on one line. */
const nowrap = () => ({ style: { whiteSpace: 'nowrap' as const } });
/** {name} placeholders of a sentence filled in. */
const fill = (text: string, values: Record<string, string | number>) => text.replace(/\{(\w+)\}/g, (_, k: string) => String(values[k] ?? ''));

/**
 * Replacement pre-screening (I-1) for the store's CR specialists and managers: the candidates the
 * weekly screening found, why each was found, and the decision (already replaced, no intent,
 * wrong data, or pass to the consultant for an outreach call). The API decides who wins when two
 * people decide the same candidate; this page says what happened and refreshes.
 */
export default function Replacement() {
  const { t, code } = useT();
  const { message } = App.useApp();
  const { me, storeId } = useSession();
  const [status, setStatus] = useState<Status>('pending');
  const [candidates, setCandidates] = useState<Candidate[]>();
  const [criteria, setCriteria] = useState<Criteria>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<Notice>();
  const [deciding, setDeciding] = useState<{ candidate: Candidate; decision: Decision }>();
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const myStaffIds = me.memberships.filter((m) => m.storeId === storeId).map((m) => m.staffId);

  const load = useCallback(async () => {
    try {
      setCandidates((await must(api.GET('/v1/stores/{storeId}/replacement-candidates', { params: { path: { storeId }, query: { status, limit: 200 } } }))).candidates);
      setError(undefined);
    } catch (e) {
      setError(problem(e));
    }
  }, [storeId, status]);
  useEffect(() => void load(), [load]);
  useEffect(() => void api.GET('/v1/stores/{storeId}/replacement-criteria', { params: { path: { storeId } } }).then(({ data }) => setCriteria(data?.criteria)), [storeId]);

  const decide = async (candidate: Candidate, decision: Decision, text: string) => {
    setBusy(true);
    // No answer at all (the network, the server down; status 0): whether it was recorded is unknown, and a repeat records nothing twice.
    const { data, error: failed, response } = await api.POST('/v1/replacement-candidates/{id}/decision', {
      params: { path: { id: candidate.id } }, body: { decision, ...(text.trim() && { note: text.trim() }) },
    }).catch(() => ({ data: undefined, error: undefined, response: { status: 0 } }));
    setBusy(false);
    setDeciding(undefined);
    setNote('');
    const label = `${candidate.vehicle.model} · ${candidate.vehicle.vin}`;
    if (data) {
      setNotice(undefined);
      message.success(data.followUpId ? t.callOpened : data.caseId ? t.dataFixOpened : t.saved);
    } else if (response.status === 409 && failed?.error === 'NoCallPossible') {
      setNotice({ type: 'warning', title: `${label}: ${t.callRefused}`, detail: failed.message });
    } else if (response.status === 409) {
      setNotice({ type: 'warning', title: `${label}: ${t.alreadyDecided}` });
    } else if (response.status === 503 && decision === 'pass') {
      setNotice({ type: 'error', title: `${label}: ${t.passOutage}`, retry: () => void decide(candidate, decision, text) });
    } else if (response.status === 503 || response.status === 0) {
      setNotice({ type: 'error', title: `${label}: ${t.outage}` });
    } else {
      setNotice({ type: 'error', title: `${label}: ${problem(failed)}` });
    }
    void load();
  };

  /** The bounds of the store's criteria that the candidate's facts met when it was screened. */
  const why = (c: Candidate) => {
    if (!criteria) return [];
    const reasons = [fill(t.whyAge, { min: criteria.minAgeMonths, max: criteria.maxAgeMonths })];
    reasons.push(criteria.models.length ? fill(t.whyModel, { model: c.facts.model }) : t.whyAnyModel);
    if (criteria.minMileageKm !== null) reasons.push(fill(t.whyMileage, { km: criteria.minMileageKm.toLocaleString() }));
    if (criteria.lastServiceWithinMonths !== null) reasons.push(fill(t.whyService, { months: criteria.lastServiceWithinMonths }));
    return reasons;
  };
  const age = (months: number) => fill(t.ageYearsMonths, { y: Math.floor(months / 12), m: months % 12 });

  return (
    <section aria-labelledby="replacement-title">
      <Typography.Title level={2} id="replacement-title" style={{ fontSize: 20 }}>{t.replacement}</Typography.Title>
      <Segmented<Status> aria-label={t.status} value={status} onChange={setStatus} style={{ marginBottom: 12 }} options={STATUSES.map((s) => ({ value: s, label: code(s) }))} />
      {notice && (
        <Alert type={notice.type} showIcon closable={{ 'aria-label': t.close, onClose: () => setNotice(undefined) }} style={{ marginBottom: 12 }} role="alert"
          title={notice.title} description={notice.detail}
          action={notice.retry && <Button size="small" loading={busy} onClick={notice.retry}>{t.retryCall}</Button>} />
      )}
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} />}
      <Table<Candidate>
        rowKey="id" loading={!candidates && !error} dataSource={candidates} size="middle" scroll={{ x: 1100 }} pagination={{ pageSize: 20, hideOnSinglePage: true }}
        // antd's placeholder grey is below AA contrast on white; the text's own colour is not.
        locale={{ emptyText: <Typography.Text>{t.empty}</Typography.Text> }}
        columns={[
          { title: t.vehicle, render: (_, c) => <span><a href={`#/vehicle/${c.deliveryId}`}>{c.vehicle.model}</a><br /><Typography.Text type="secondary">{c.vehicle.vin}{c.vehicle.plate ? ` · ${c.vehicle.plate}` : ''}</Typography.Text></span> },
          { title: t.customer, render: (_, c) => <span>{c.customer.name}<br /><Typography.Text type="secondary">{c.customer.phone ? maskedPhone(c.customer.phone) : '—'}</Typography.Text></span> },
          { title: t.vehicleAge, render: (_, c) => age(c.facts.ageMonths), onCell: nowrap },
          { title: t.mileage, render: (_, c) => (c.facts.forecastKm === null ? t.noReading : `${c.facts.forecastKm.toLocaleString()} km`), onCell: nowrap },
          { title: t.lastService, render: (_, c) => c.facts.lastServiceOn ?? t.noService, onCell: nowrap },
          { title: t.why, render: (_, c) => <Space size={[4, 4]} wrap>{why(c).map((r) => <Tag key={r}>{r}</Tag>)}</Space> },
          { title: t.consultantColumn, render: (_, c) => (c.consultant.active ? c.consultant.name : `${c.consultant.name} (${t.left})`), onCell: nowrap },
          { title: t.screenedAt, render: (_, c) => when(c.screenedAt), onCell: nowrap },
          status === 'pending'
            ? { title: t.decision, render: (_, c) => (
              <Space size={4} wrap>
                {DECISIONS.map((d) => (
                  <Button key={d} size="small" type={d === 'pass' ? 'primary' : 'default'} aria-label={`${code(d)} ${c.vehicle.vin}`} onClick={() => setDeciding({ candidate: c, decision: d })}>{code(d)}</Button>
                ))}
              </Space>
            ) }
            : { title: t.decision, render: (_, c) => (
              <span>
                <Tag>{code(c.status)}</Tag>{when(c.decidedAt)}{c.note ? ` · ${c.note}` : ''}
                {c.status === 'passed' && !c.followUpId && c.decidedById && myStaffIds.includes(c.decidedById) && (
                  <Button size="small" loading={busy} onClick={() => void decide(c, 'pass', c.note ?? '')}>{t.retryCall}</Button>
                )}
              </span>
            ) },
        ]}
      />
      <Modal open={!!deciding} title={deciding && `${code(deciding.decision)} · ${deciding.candidate.vehicle.model} · ${deciding.candidate.vehicle.vin}`}
        okText={t.save} cancelText={t.cancel} confirmLoading={busy} closable={{ 'aria-label': t.close }}
        onOk={() => deciding && void decide(deciding.candidate, deciding.decision, note)} onCancel={() => { setDeciding(undefined); setNote(''); }}>
        <Typography.Paragraph>{deciding && t.decisionHints[deciding.decision]}</Typography.Paragraph>
        <Input.TextArea aria-label={t.note} placeholder={t.note} value={note} onChange={(e) => setNote(e.target.value)} rows={3} maxLength={2000} />
      </Modal>
    </section>
  );
}

import { Result, Table, Tabs, Tag, Typography } from 'antd';
import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { must, problem } from '../api/client';
import type { paths } from '../api/schema';
import { when, windowOf } from '../format';
import { useT } from '../i18n';
import { inbox } from '../inbox';
import { useSession } from '../session';

type Task = paths['/v1/tasks/{id}']['get']['responses'][200]['content']['application/json'];
type Due = 'today' | 'overdue' | 'upcoming';

/** The call card loads when a task is opened: the inbox list comes first. */
const CallCard = lazy(() => import('./CallCard'));

/** My tasks: due now, overdue and upcoming by the plan's required window; a row opens its call card. */
export default function Tasks({ id }: { id?: string }) {
  const { t } = useT();
  const { storeId } = useSession();
  const [due, setDue] = useState<Due>('today');
  const [tasks, setTasks] = useState<Task[]>();
  const [error, setError] = useState<string>();
  const load = useCallback(async () => {
    try {
      setTasks((await must(inbox(storeId, due))).tasks);
    } catch (e) {
      setError(problem(e));
    }
  }, [storeId, due]);
  useEffect(() => void load(), [load]);
  const open = (taskId?: string) => (window.location.hash = taskId ? `#/tasks/${taskId}` : '#/tasks');
  return (
    <section aria-labelledby="tasks-title">
      <Typography.Title level={2} id="tasks-title" style={{ fontSize: 20 }}>{t.tasks}</Typography.Title>
      <Tabs activeKey={due} onChange={(k) => setDue(k as Due)} items={(['today', 'overdue', 'upcoming'] as const).map((k) => ({ key: k, label: t[k === 'today' ? 'dueNow' : k] }))} />
      {error && <Result status="error" title={error} />}
      <Table<Task>
        rowKey="id" loading={!tasks && !error} dataSource={tasks} size="middle" scroll={{ x: 800 }} pagination={{ pageSize: 20, hideOnSinglePage: true }}
        onRow={(task) => ({ onClick: () => open(task.id), style: { cursor: 'pointer' } })}
        columns={[
          { title: t.customer, render: (_, task) => <a href={`#/tasks/${task.id}`}>{task.customer.name}</a> },
          { title: t.model, render: (_, task) => task.vehicle.model },
          { title: t.checklist, dataIndex: 'stepKey' },
          { title: t.requiredWindow, render: (_, task) => <span>{windowOf(task.dueStart, task.dueEnd)} {task.overdue && <Tag color="error">{t.overdue}</Tag>}</span> },
          { title: t.requested, render: (_, task) => when(task.requestedAt) },
          { title: t.window, render: (_, task) => task.customer.contactWindow },
        ]}
      />
      {id && <Suspense><CallCard id={id} onClose={() => open()} onChanged={load} /></Suspense>}
    </section>
  );
}

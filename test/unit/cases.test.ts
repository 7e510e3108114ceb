import { caseActionProblem, CaseState, nextLevel, runningDeadline } from '../../src/domain/cases';

const open: CaseState = {
  caseId: 'c1', storeId: 's1', status: 'open', level: 1, assigneeId: 'cr', acknowledgedAt: null,
  respondBy: '2026-11-30T05:00:00.000Z', resolveBy: '2026-12-03T05:00:00.000Z', passed: { respond: false, resolve: false }, resolvedAt: null, events: 1,
};

describe('the case rules', () => {
  it('runs against the first-response deadline until acknowledged, then the resolution deadline, each once', () => {
    expect(runningDeadline(open)).toEqual({ kind: 'respond', at: open.respondBy });
    expect(runningDeadline({ ...open, acknowledgedAt: '2026-11-30T02:00:00.000Z' })).toEqual({ kind: 'resolve', at: open.resolveBy });
    expect(runningDeadline({ ...open, passed: { respond: true, resolve: false } })).toEqual({ kind: 'resolve', at: open.resolveBy });
    expect(runningDeadline({ ...open, passed: { respond: true, resolve: true } })).toBeNull();
    expect(runningDeadline({ ...open, status: 'resolved' })).toBeNull();
  });

  it('climbs one rung at a time and stops at the general manager', () => {
    expect([nextLevel(1), nextLevel(2), nextLevel(3)]).toEqual([2, 3, 3]);
  });

  it('accepts each action only where it makes sense', () => {
    const problem = (s: Partial<CaseState>, action: Parameters<typeof caseActionProblem>[1], assigneeId?: string) => caseActionProblem({ ...open, ...s }, action, assigneeId)?.type ?? null;
    expect(problem({}, 'acknowledge')).toBeNull();
    expect(problem({ acknowledgedAt: '2026-11-30T02:00:00.000Z' }, 'acknowledge')).toBe('CaseAcknowledged');
    expect(problem({}, 'reassign', 'cr')).toBe('CaseAlreadyAssigned');
    expect(problem({}, 'reassign', 'manager')).toBeNull();
    expect(problem({}, 'reopen')).toBe('CaseNotResolved');
    expect(problem({ status: 'resolved' }, 'resolve')).toBe('CaseResolved');
    expect(problem({ status: 'resolved' }, 'note')).toBeNull();
    expect(problem({ status: 'resolved' }, 'reopen')).toBeNull();
    for (const action of ['acknowledge', 'note', 'reassign', 'resolve', 'reopen'] as const) expect(problem({ status: 'closed' }, action, 'x')).toBe('CaseClosed');
  });
});

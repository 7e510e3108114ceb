import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { can, type StaffActor, staffWhere } from '../../services/access';
import { type AuditActor, auditActorOf, recordAudit } from '../../services/audit';
import {
  changePassword, clearLockOut, hashPassword, normalizeLogin, PASSWORD_MAX, passwordProblem, revokeSession, revokeSessionsOf,
  SESSION_LIMITS, signIn, temporaryPassword,
} from '../../services/sessions';
import { deactivateStaff } from '../../services/staff-exit';
import { type Actor, actorOf, assertCan, SESSION_COOKIE } from '../auth';
import { ErrorBodySchema } from '../errors';
import { badRequest, conflict, forbidden, HttpError, notFound } from '../../services/errors';
import { ExternalIdSchema, StoreIdSchema } from '../../domain/ids';
import type { ApiDeps } from '../server';

/** What people type to sign in: letters, digits and . _ @ - (an email address will do). */
const LoginSchema = z.string().trim().min(3).max(100).regex(/^[\p{L}\p{N}._@-]+$/u, 'letters, digits and . _ @ - only');
const PasswordSchema = z.string().min(1).max(PASSWORD_MAX);

const MembershipViewSchema = z.object({ staffId: z.string(), storeId: z.string(), role: z.string(), name: z.string() });
const MeSchema = z.object({ loginId: z.string(), login: z.string(), mustChangePassword: z.boolean(), memberships: z.array(MembershipViewSchema) });

const StaffExitSchema = z.object({
  tasks: z.number().describe('open call tasks handed to colleagues by the fair rule'),
  cases: z.number().describe('open cases handed to colleagues by the fair rule'),
  unassigned: z.number().describe('open work nobody else at the store holds the role for: still with the leaver, for a manager to hand on'),
  sessions: z.number().describe('sessions ended'),
});

function staffActor(req: FastifyRequest): StaffActor {
  const actor = actorOf(req);
  if (actor.kind !== 'staff') throw forbidden('this is for a signed-in staff member (an API key has no session)');
  return actor;
}

/** The actor of a login change, for the audit log: the person's row at the login's first store, or the key. */
const auditActor = (actor: Actor, storeId: string | null): AuditActor =>
  auditActorOf(actor, actor.kind === 'staff' ? actor.memberships.find((m) => m.storeId === storeId)?.staffId ?? actor.memberships[0]?.staffId : null);

/**
 * Staff sign-in (the console's cookie, or a token for scripts), sign-out, who am I, and changing
 * a password; for admin keys and general managers, staff logins: create, reset, deactivate.
 */
export const authRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db, temporal, config }) => {
  const secureCookie = (req: FastifyRequest) => req.protocol === 'https' || (config.PUBLIC_BASE_URL ?? '').startsWith('https:');

  function setCookie(req: FastifyRequest, reply: FastifyReply, token: string, maxAgeSeconds: number): void {
    reply.header('set-cookie', [
      `${SESSION_COOKIE}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`, ...(secureCookie(req) ? ['Secure'] : []),
    ].join('; '));
  }

  app.post('/v1/auth/sign-in', {
    config: { public: true },
    schema: {
      tags: ['auth'], security: [],
      summary: 'Sign in with login and password: a session cookie for the console, or (session "bearer") a token for scripts. '
        + `Five failures within 15 minutes lock the login for 15 minutes (429), whether or not it exists`,
      body: z.strictObject({ login: z.string().max(100).regex(/^\P{Cc}*$/u, 'no control characters'), password: PasswordSchema, session: z.enum(['cookie', 'bearer']).default('cookie') }),
      response: {
        200: z.object({ token: z.string().optional().describe('bearer sessions only; shown once'), expiresAt: z.string(), mustChangePassword: z.boolean() }),
        401: ErrorBodySchema, 429: ErrorBodySchema,
      },
    },
  }, async (req, reply) => {
    const result = await signIn(db, { login: req.body.login, password: req.body.password, kind: req.body.session });
    if (!result.ok && result.reason === 'locked') {
      reply.header('retry-after', String(result.retryAfterSeconds));
      throw new HttpError(429, 'TooManyAttempts', `too many failed sign-ins for this login: try again in ${Math.ceil(result.retryAfterSeconds / 60)} minutes`);
    }
    if (!result.ok) throw new HttpError(401, 'Unauthorized', 'wrong login or password');
    const first = await db.staff.findFirst({ where: { loginId: result.loginId }, select: { id: true, storeId: true }, orderBy: { createdAt: 'asc' } });
    await recordAudit(db, {
      actor: first ? { kind: 'staff', id: first.id } : 'system', action: 'staff-login.sign-in', entity: 'staff-login', entityId: result.loginId,
      storeId: first?.storeId ?? null, after: { session: req.body.session },
    });
    req.log.info({ loginId: result.loginId, session: req.body.session }, 'signed in');
    const answer = { expiresAt: result.expiresAt.toISOString(), mustChangePassword: result.mustChangePassword };
    if (req.body.session === 'bearer') return { ...answer, token: result.token };
    setCookie(req, reply, result.token, SESSION_LIMITS.cookie.ttlMs / 1000);
    return answer;
  });

  app.post('/v1/auth/sign-out', {
    config: { beforePasswordChange: true },
    schema: { tags: ['auth'], summary: 'End this session (cookie or token)', response: { 204: z.null(), 403: ErrorBodySchema } },
  }, async (req, reply) => {
    const actor = staffActor(req);
    await revokeSession(db, actor.sessionId);
    setCookie(req, reply, '', 0);
    return reply.status(204).send(null);
  });

  app.get('/v1/auth/me', {
    config: { beforePasswordChange: true },
    schema: { tags: ['auth'], summary: 'The signed-in person and their roles per store', response: { 200: MeSchema, 403: ErrorBodySchema } },
  }, async (req) => {
    const actor = staffActor(req);
    const login = await db.staffLogin.findUniqueOrThrow({ where: { id: actor.id } });
    const rows = await db.staff.findMany({ where: { id: { in: actor.memberships.map((m) => m.staffId) } }, select: { id: true, name: true } });
    const names = new Map(rows.map((r) => [r.id, r.name]));
    return {
      loginId: login.id, login: login.login, mustChangePassword: login.mustChangePassword,
      memberships: actor.memberships.map((m) => ({ staffId: m.staffId, storeId: m.storeId, role: m.role, name: names.get(m.staffId) ?? '' })),
    };
  });

  app.post('/v1/auth/password', {
    config: { beforePasswordChange: true },
    schema: {
      tags: ['auth'], summary: `Change your password (at least 10 characters, not your login); your other sessions end`,
      body: z.strictObject({ currentPassword: PasswordSchema, newPassword: PasswordSchema }),
      response: { 204: z.null(), 400: ErrorBodySchema, 403: ErrorBodySchema },
    },
  }, async (req, reply) => {
    const actor = staffActor(req);
    const login = await db.staffLogin.findUniqueOrThrow({ where: { id: actor.id }, select: { login: true } });
    const problem = passwordProblem(req.body.newPassword, login.login);
    if (problem) throw badRequest('newPassword', problem);
    const outcome = await changePassword(db, actor, req.body.currentPassword, req.body.newPassword);
    if (outcome === 'wrong-password') throw badRequest('currentPassword', 'not your current password');
    if (outcome === 'same-password') throw badRequest('newPassword', 'must differ from the current password');
    await recordAudit(db, { actor: auditActor(actor, null), action: 'staff-login.change-password', entity: 'staff-login', entityId: actor.id, storeId: actor.memberships[0]?.storeId ?? null });
    return reply.status(204).send(null);
  });

  // ---- Staff logins, for admin keys and general managers ----

  /** The login with its staff rows, if the actor administers every store it spans (else 404). */
  async function administeredLogin(actor: Actor, id: string) {
    const login = await db.staffLogin.findUnique({ where: { id }, include: { staff: { select: { id: true, storeId: true } } } });
    if (!login || login.staff.length === 0 || !login.staff.every((s) => can(actor, 'login.admin', s.storeId))) throw notFound(`staff login ${id}`);
    return login;
  }

  const LoginParams = z.object({ id: z.uuid() });
  const TemporaryPasswordSchema = z.object({ loginId: z.string(), temporaryPassword: z.string().describe('shown once; the person must change it at their next sign-in') });

  app.post('/v1/staff-logins', {
    schema: {
      tags: ['auth'],
      summary: 'Give staff members a sign-in (admin key or general manager): one login for the person\'s rows at one or more stores, with a temporary password to change at the first sign-in',
      body: z.strictObject({
        login: LoginSchema,
        staff: z.array(z.strictObject({ storeId: StoreIdSchema, externalId: ExternalIdSchema })).min(1).max(50).describe('the person\'s Staff rows (a role per store)'),
      }),
      response: { 201: TemporaryPasswordSchema, 400: ErrorBodySchema, 403: ErrorBodySchema, 409: ErrorBodySchema },
    },
  }, async (req, reply) => {
    const actor = actorOf(req);
    const login = normalizeLogin(req.body.login);
    const rows: { id: string; storeId: string }[] = [];
    for (const [i, ref] of req.body.staff.entries()) {
      assertCan(actor, 'login.admin', ref.storeId);
      const row = await db.staff.findUnique({ where: { storeId_externalId: ref } });
      if (!row?.active) throw badRequest(`staff.${i}.externalId`, `no active staff member ${ref.externalId} at store ${ref.storeId}`);
      if (row.loginId) throw badRequest(`staff.${i}.externalId`, 'this staff member has a login already');
      rows.push(row);
    }
    const password = temporaryPassword();
    const passwordHash = await hashPassword(password);
    const created = await db.$transaction(async (tx) => {
      if (await tx.staffLogin.findUnique({ where: { login } })) throw conflict('that login is taken');
      const account = await tx.staffLogin.create({ data: { login, passwordHash, mustChangePassword: true } });
      await tx.staff.updateMany({ where: { id: { in: rows.map((r) => r.id) } }, data: { loginId: account.id } });
      await recordAudit(tx, {
        actor: auditActor(actor, rows[0].storeId), action: 'staff-login.create', entity: 'staff-login', entityId: account.id, storeId: rows[0].storeId,
        after: { staffIds: rows.map((r) => r.id) },
      });
      return account;
    });
    return reply.status(201).send({ loginId: created.id, temporaryPassword: password });
  });

  app.post('/v1/staff-logins/:id/reset-password', {
    schema: {
      tags: ['auth'], summary: 'Reset a person\'s password (admin key or general manager): a temporary password, their sessions end and the lock-out lifts',
      params: LoginParams, response: { 200: TemporaryPasswordSchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    const login = await administeredLogin(actor, req.params.id);
    const password = temporaryPassword();
    const passwordHash = await hashPassword(password);
    await db.$transaction(async (tx) => {
      await tx.staffLogin.update({ where: { id: login.id }, data: { passwordHash, mustChangePassword: true } });
      await revokeSessionsOf(tx, login.id);
      await clearLockOut(tx, login.login);
      await recordAudit(tx, { actor: auditActor(actor, login.staff[0].storeId), action: 'staff-login.reset-password', entity: 'staff-login', entityId: login.id, storeId: login.staff[0].storeId });
    });
    return { loginId: login.id, temporaryPassword: password };
  });

  app.post('/v1/staff-logins/:id/deactivate', {
    schema: {
      tags: ['auth'],
      summary: 'The person left (admin key or general manager): every Staff row of the login stops, its open tasks and cases go to colleagues by the fair rule, its sessions end',
      params: LoginParams, response: { 200: StaffExitSchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    const login = await administeredLogin(actor, req.params.id);
    const exit = await deactivateStaff({ db, temporal }, login.staff.map((s) => s.id), auditActor(actor, login.staff[0].storeId));
    req.log.info({ loginId: login.id, ...exit }, 'staff login deactivated');
    return exit;
  });

  app.post('/v1/stores/:storeId/staff/:externalId/deactivate', {
    schema: {
      tags: ['staff'],
      summary: 'A staff member left this store (admin key, sales or general manager): their open tasks and cases go to colleagues by the fair rule, their sessions end',
      params: z.object({ storeId: StoreIdSchema, externalId: ExternalIdSchema }), response: { 200: StaffExitSchema, 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (req) => {
    const actor = actorOf(req);
    const { storeId, externalId } = req.params;
    const staff = await db.staff.findFirst({ where: { storeId, externalId, AND: [staffWhere(actor)] } });
    if (!staff) throw notFound(`staff member ${externalId} at store ${storeId}`);
    if (!can(actor, 'staff.edit', storeId)) throw forbidden('deactivating staff is for managers');
    const exit = await deactivateStaff({ db, temporal }, [staff.id], auditActor(actor, storeId));
    req.log.info({ staffId: staff.id, ...exit }, 'staff member deactivated');
    return exit;
  });
};

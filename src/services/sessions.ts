/**
 * Staff sign-in: argon2id password hashes, sessions as opaque random tokens of which only a
 * SHA-256 hash is stored, a lock-out after repeated failures, and admin resets. Passwords, tokens
 * and logins are never logged.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Db } from '../db/client';
import { readRows } from '../db/raw';
import { Prisma } from '../generated/prisma/client';
import { type Membership, STAFF_ROLES, type StaffActor, type StaffRole } from './access';
import { recordAudit } from './audit';

type Tx = Prisma.TransactionClient;

/**
 * OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): memory-hard, and quick enough for 2 shared
 * cores. argon2id is the library's default algorithm (the hashes start "$argon2id$").
 */
const ARGON2 = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 200;

/** The lock-out: this many failures for one typed login within the window lock it for LOCK_MS. */
export const MAX_FAILURES = 5;
export const FAILURE_WINDOW_MS = 15 * 60_000;
export const LOCK_MS = 15 * 60_000;

/** A session ends at its expiry or after this long unused, whichever comes first. */
export const SESSION_LIMITS = {
  cookie: { ttlMs: 12 * 3600_000, idleMs: 2 * 3600_000 },
  bearer: { ttlMs: 30 * 24 * 3600_000, idleMs: 7 * 24 * 3600_000 },
} as const;
export type SessionKind = keyof typeof SESSION_LIMITS;

/** lastSeenAt is written at most this often: a session read costs no write on most requests. */
const TOUCH_EVERY_MS = 60_000;

export const SESSION_TOKEN_PREFIX = 'hfs_';

export const normalizeLogin = (login: string) => login.trim().toLowerCase();
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
export const hashSessionToken = sha256;

export const hashPassword = (password: string) => hash(password, ARGON2);

/** Hashed once: an unknown login is verified against it, so it takes as long as a known one. */
let dummyHash: Promise<string> | undefined;

/** The policy's complaint about a new password, or null. */
export function passwordProblem(password: string, login: string): string | null {
  if (password.length < PASSWORD_MIN) return `at least ${PASSWORD_MIN} characters`;
  if (password.length > PASSWORD_MAX) return `at most ${PASSWORD_MAX} characters`;
  if (normalizeLogin(password) === normalizeLogin(login)) return 'must not be the login';
  return null;
}

/** A temporary password for an admin's reset: shown once, changed at the next sign-in. */
export const temporaryPassword = () => randomBytes(12).toString('base64url');

export type SignInResult =
  | { ok: true; loginId: string; token: string; expiresAt: Date; mustChangePassword: boolean }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number };

/**
 * Checks a password and opens a session. Unknown logins, wrong passwords and people who left all
 * answer "invalid" after the same argon2 work; failures count per typed login, known or not, so
 * the lock-out tells nothing about which accounts exist either.
 */
export async function signIn(db: Db, input: { login: string; password: string; kind: SessionKind }, now = new Date()): Promise<SignInResult> {
  const login = normalizeLogin(input.login);
  const loginHash = sha256(login);
  const throttle = await db.signInThrottle.findUnique({ where: { loginHash } });
  if (throttle?.lockedUntil && throttle.lockedUntil > now) {
    return { ok: false, reason: 'locked', retryAfterSeconds: Math.ceil((throttle.lockedUntil.getTime() - now.getTime()) / 1000) };
  }
  const account = await db.staffLogin.findUnique({
    where: { login }, include: { staff: { select: { storeId: true }, orderBy: { createdAt: 'asc' }, take: 1 } },
  });
  const matches = await verify(account?.passwordHash ?? await (dummyHash ??= hashPassword(randomBytes(16).toString('hex'))), input.password);
  if (!account || !matches || account.disabledAt) {
    const why = !account ? 'unknown login' : account.disabledAt ? 'the person left' : 'wrong password';
    await recordFailure(db, { loginHash, loginId: account?.id, storeId: account?.staff[0]?.storeId ?? null, why }, now);
    return { ok: false, reason: 'invalid' };
  }
  await clearLockOut(db, login);
  const { token, expiresAt } = await openSession(db, account.id, input.kind, now);
  return { ok: true, loginId: account.id, token, expiresAt, mustChangePassword: account.mustChangePassword };
}

export async function clearLockOut(tx: Db | Tx, login: string): Promise<void> {
  await tx.signInThrottle.deleteMany({ where: { loginHash: sha256(normalizeLogin(login)) } });
}

/** The audit log's entityId for failed sign-ins of a login nobody holds. */
export const UNKNOWN_LOGIN = 'unknown';

/**
 * One more failure in the window (a new window when the last one is over); the fifth locks. Each
 * failure, and the lock-out, is appended to the audit log in the same transaction: the entity is
 * the login by its ID at the person's first store; a login nobody holds is recorded as "unknown",
 * without what was typed (people type passwords into the login field, and the log keeps its rows
 * for ever, where even an unsalted hash of a password could be reversed). Attempts while locked are
 * answered by the throttle alone, unrecorded: they cost no password check, so they would let
 * anyone flood the log.
 */
async function recordFailure(
  db: Db, attempt: { loginHash: string; loginId?: string; storeId: string | null; why: string }, now: Date,
): Promise<void> {
  const windowOpen = new Date(now.getTime() - FAILURE_WINDOW_MS);
  await db.$transaction(async (tx) => {
    // One statement: simultaneous failures all count, and exactly one of them reaches MAX_FAILURES.
    const [{ failures, lockedUntil }] = await tx.$queryRaw<{ failures: number; lockedUntil: Date | null }[]>`
      INSERT INTO "SignInThrottle" ("loginHash", failures, "windowStart")
      VALUES (${attempt.loginHash}, 1, ${now}::timestamptz)
      ON CONFLICT ("loginHash") DO UPDATE SET
        failures = CASE WHEN "SignInThrottle"."windowStart" < ${windowOpen}::timestamptz THEN 1 ELSE "SignInThrottle".failures + 1 END,
        "windowStart" = CASE WHEN "SignInThrottle"."windowStart" < ${windowOpen}::timestamptz THEN ${now}::timestamptz ELSE "SignInThrottle"."windowStart" END,
        "lockedUntil" = CASE
          WHEN "SignInThrottle"."windowStart" >= ${windowOpen}::timestamptz AND "SignInThrottle".failures + 1 >= ${MAX_FAILURES}
          THEN ${new Date(now.getTime() + LOCK_MS)}::timestamptz ELSE NULL END
      RETURNING failures, "lockedUntil"`;
    const entry = {
      actor: 'system', entity: 'staff-login', entityId: attempt.loginId ?? UNKNOWN_LOGIN, storeId: attempt.storeId,
    } as const;
    await recordAudit(tx, { ...entry, action: 'staff-login.sign-in-failed', after: { failures }, reason: attempt.why });
    if (failures === MAX_FAILURES && lockedUntil) {
      await recordAudit(tx, {
        ...entry, action: 'staff-login.lock-out', after: { lockedUntil },
        reason: `${MAX_FAILURES} failed sign-ins within ${FAILURE_WINDOW_MS / 60_000} minutes`,
      });
    }
  });
}

async function openSession(db: Db | Tx, loginId: string, kind: SessionKind, now: Date) {
  const token = `${SESSION_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + SESSION_LIMITS[kind].ttlMs);
  await db.staffSession.create({ data: { loginId, kind, tokenHash: sha256(token), expiresAt, createdAt: now, lastSeenAt: now } });
  return { token, expiresAt };
}

interface SessionRow {
  id: string;
  loginId: string;
  kind: string;
  expiresAt: Date;
  revokedAt: Date | null;
  lastSeenAt: Date;
  disabledAt: Date | null;
  mustChangePassword: boolean;
  memberships: { staffId: string; storeId: string; role: string; team: string[] }[];
}

/**
 * The signed-in person of a session token, or null (unknown, revoked, expired, idle too long, or
 * left). Every staff request reads it: one statement with the person's active rows and teams,
 * straight to the pool as a prepared statement (src/db/raw.ts).
 */
export async function staffActorFor(db: Db, token: string, now = new Date()): Promise<StaffActor | null> {
  const [session] = await readRows<SessionRow>(db, Prisma.sql`
    SELECT s.id::text AS id, s."loginId"::text AS "loginId", s.kind, s."expiresAt", s."revokedAt", s."lastSeenAt",
           l."disabledAt", l."mustChangePassword",
           COALESCE(json_agg(json_build_object(
             'staffId', st.id, 'storeId', st."storeId", 'role', st.role,
             'team', (SELECT COALESCE(json_agg(t.id), '[]'::json) FROM "Staff" t WHERE t."supervisorId" = st.id AND t.active)
           )) FILTER (WHERE st.id IS NOT NULL), '[]'::json) AS memberships
    FROM "StaffSession" s
    JOIN "StaffLogin" l ON l.id = s."loginId"
    LEFT JOIN "Staff" st ON st."loginId" = l.id AND st.active
    WHERE s."tokenHash" = ${sha256(token)}
    GROUP BY s.id, l.id`, { prepared: 'session' });
  if (!session || session.revokedAt || session.expiresAt <= now || session.disabledAt) return null;
  const limits = SESSION_LIMITS[session.kind as SessionKind] ?? SESSION_LIMITS.cookie;
  const idle = now.getTime() - session.lastSeenAt.getTime();
  if (idle > limits.idleMs) return null;
  if (idle > TOUCH_EVERY_MS) await db.staffSession.update({ where: { id: session.id }, data: { lastSeenAt: now } });
  const memberships: Membership[] = session.memberships
    .filter((m) => (STAFF_ROLES as readonly string[]).includes(m.role))
    .map((m) => ({ staffId: m.staffId, storeId: m.storeId, role: m.role as StaffRole, team: m.role === 'supervisor' ? m.team : [] }));
  return { kind: 'staff', id: session.loginId, sessionId: session.id, mustChangePassword: session.mustChangePassword, memberships };
}

export async function revokeSession(db: Db, sessionId: string, now = new Date()): Promise<void> {
  await db.staffSession.updateMany({ where: { id: sessionId, revokedAt: null }, data: { revokedAt: now } });
}

/** Every open session of a person (they left, or their password was reset or changed). */
export async function revokeSessionsOf(tx: Db | Tx, loginId: string, now = new Date(), except?: string): Promise<number> {
  const { count } = await tx.staffSession.updateMany({ where: { loginId, revokedAt: null, ...(except && { id: { not: except } }) }, data: { revokedAt: now } });
  return count;
}

/** Changes a password after checking the current one; the person's other sessions end. */
export async function changePassword(db: Db, actor: StaffActor, current: string, next: string, now = new Date()): Promise<'ok' | 'wrong-password' | 'same-password'> {
  const account = await db.staffLogin.findUniqueOrThrow({ where: { id: actor.id } });
  if (!(await verify(account.passwordHash, current))) return 'wrong-password';
  if (current === next) return 'same-password';
  const passwordHash = await hashPassword(next);
  await db.$transaction(async (tx) => {
    await tx.staffLogin.update({ where: { id: account.id }, data: { passwordHash, mustChangePassword: false } });
    await revokeSessionsOf(tx, account.id, now, actor.sessionId);
  });
  return 'ok';
}

-- AlterTable
ALTER TABLE "Staff" ADD COLUMN     "deactivatedAt" TIMESTAMPTZ(3),
ADD COLUMN     "loginId" UUID;

-- CreateTable
CREATE TABLE "StaffLogin" (
    "id" UUID NOT NULL,
    "login" TEXT NOT NULL,
    "passwordHash" TEXT NOT NULL,
    "mustChangePassword" BOOLEAN NOT NULL DEFAULT false,
    "disabledAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "StaffLogin_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StaffSession" (
    "id" UUID NOT NULL,
    "loginId" UUID NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "StaffSession_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SignInThrottle" (
    "loginHash" TEXT NOT NULL,
    "failures" INTEGER NOT NULL,
    "windowStart" TIMESTAMPTZ(3) NOT NULL,
    "lockedUntil" TIMESTAMPTZ(3),

    CONSTRAINT "SignInThrottle_pkey" PRIMARY KEY ("loginHash")
);

-- CreateIndex
CREATE UNIQUE INDEX "StaffLogin_login_key" ON "StaffLogin"("login");

-- CreateIndex
CREATE UNIQUE INDEX "StaffSession_tokenHash_key" ON "StaffSession"("tokenHash");

-- CreateIndex
CREATE INDEX "StaffSession_loginId_revokedAt_idx" ON "StaffSession"("loginId", "revokedAt");

-- CreateIndex
CREATE INDEX "Staff_loginId_idx" ON "Staff"("loginId");

-- CreateIndex
CREATE INDEX "Staff_supervisorId_idx" ON "Staff"("supervisorId");

-- AddForeignKey
ALTER TABLE "Staff" ADD CONSTRAINT "Staff_loginId_fkey" FOREIGN KEY ("loginId") REFERENCES "StaffLogin"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StaffSession" ADD CONSTRAINT "StaffSession_loginId_fkey" FOREIGN KEY ("loginId") REFERENCES "StaffLogin"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


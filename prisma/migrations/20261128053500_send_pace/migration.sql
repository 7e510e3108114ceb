-- CreateTable
CREATE TABLE "SendPace" (
    "key" TEXT NOT NULL,
    "nextFreeAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "SendPace_pkey" PRIMARY KEY ("key")
);

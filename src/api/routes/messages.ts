import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { messageWhere } from '../../services/access';
import { actorOf, storeScope } from '../auth';
import { StoreIdSchema } from '../../domain/ids';
import type { ApiDeps } from '../server';

/** Outbound messages; with no SMS provider configured, `transport=outbox` lists the SMS that were kept. */
export const messageRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { db }) => {
  app.get('/v1/messages', {
    schema: {
      tags: ['messages'], summary: 'List outbound messages, newest first',
      querystring: z.object({
        storeId: StoreIdSchema.optional(),
        transport: z.enum(['twilio', 'smtp', 'outbox']).optional(),
        status: z.string().regex(/^[a-z_]{1,32}$/, 'a message status such as sent or delivered').optional(),
        deliveryId: z.uuid().optional(),
        limit: z.coerce.number().int().min(1).max(500).default(50),
      }),
      response: {
        200: z.array(z.object({
          id: z.string(), storeId: z.string(), deliveryId: z.string().nullable(), channel: z.string(), purpose: z.string(),
          templateKey: z.string(), transport: z.string(), to: z.string(), subject: z.string().nullable(), body: z.string(),
          status: z.string(), createdAt: z.string(), sentAt: z.string().nullable(),
        })),
      },
    },
  }, async (req) => {
    const { storeId, transport, status, deliveryId, limit } = req.query;
    const actor = actorOf(req);
    const rows = await db.message.findMany({
      where: { ...storeScope(actor, storeId), transport, status, deliveryId, AND: [messageWhere(actor)] },
      orderBy: { createdAt: 'desc' },
      take: limit,
    });
    return rows.map((m) => ({
      id: m.id, storeId: m.storeId, deliveryId: m.deliveryId, channel: m.channel, purpose: m.purpose, templateKey: m.templateKey,
      transport: m.transport, to: m.toAddress, subject: m.subject, body: m.body, status: m.status,
      createdAt: m.createdAt.toISOString(), sentAt: m.sentAt?.toISOString() ?? null,
    }));
  });
};

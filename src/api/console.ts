import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where Vite writes the console's production build (scripts/console-build.ts). */
export const CONSOLE_DIST = path.resolve(__dirname, '..', '..', 'console', 'dist');

/**
 * The staff console at /console: static files of the same origin, so its calls carry the staff
 * session cookie. The files are public (the sign-in page is one of them); every API call the
 * console makes is checked as any other. Hash routes (/console/#/cases) need no server fallback.
 */
export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  if (!existsSync(path.join(CONSOLE_DIST, 'index.html'))) {
    app.log.warn('console/dist is missing: npm start builds it (node --import tsx scripts/console-build.ts)');
    return;
  }
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), public: true };
    route.schema = { ...(route.schema ?? {}), hide: true };
  });
  app.get('/console', (_req, reply) => reply.redirect('/console/'));
  await app.register(fastifyStatic, {
    root: CONSOLE_DIST,
    prefix: '/console/',
    // Hashed asset names never change content: cache them for a year; index.html always fresh.
    setHeaders: (reply, file) => reply.header('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache'),
    cacheControl: false,
    // The build writes .br and .gz copies beside each script (scripts/console-build.ts).
    preCompressed: true,
  });
}

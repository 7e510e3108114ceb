import { parseArgs } from 'node:util';
import { createApiKey, createStore, StoreInputSchema } from './services/stores';
import { loadConfig } from './config';
import { createDb } from './db/client';
import { migrate } from './db/migrate';

/**
 * Bootstrap for operators: the first store and the first admin key of a new installation (after
 * that, the API's admin routes do the same). `npm run admin -- <command> [options]`.
 */
const USAGE = `usage:
  npm run admin -- create-store --id sh-pudong --name "上海浦东店" --hotline 400-800-8888 [--time-zone Asia/Shanghai]
  npm run admin -- create-api-key --name "DMS integration" --role admin|integration [--store sh-pudong]`;

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL: required (the embedded database runs only under npm start)');
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      id: { type: 'string' }, name: { type: 'string' }, 'time-zone': { type: 'string' }, hotline: { type: 'string' },
      role: { type: 'string' }, store: { type: 'string' },
    },
  });
  await migrate(config.DATABASE_URL);
  const db = createDb(config.DATABASE_URL, 2);
  try {
    switch (positionals[0]) {
      case 'create-store': {
        const parsed = StoreInputSchema.safeParse({ id: values.id, name: values.name, timeZone: values['time-zone'], serviceHotline: values.hotline });
        const option: Record<string, string> = { timeZone: 'time-zone', serviceHotline: 'hotline' };
        if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `--${option[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join('\n'));
        const store = await createStore(db, parsed.data, 'admin-cli');
        process.stdout.write(`created store ${store.id} (${store.timeZone}) with the default contact plan\n`);
        break;
      }
      case 'create-api-key': {
        if (!values.name || (values.role !== 'admin' && values.role !== 'integration')) throw new Error(USAGE);
        const { id, key } = await createApiKey(db, { name: values.name, role: values.role, storeId: values.store ?? null });
        process.stdout.write(`API key ${id} (shown once, stored hashed):\n${key}\n`);
        break;
      }
      default:
        throw new Error(USAGE);
    }
  } finally {
    await db.$disconnect();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

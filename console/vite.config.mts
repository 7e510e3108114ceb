import { defineConfig } from 'vite';

/** The staff console's production build, served by the API at /console (src/api/console.ts). */
export default defineConfig({
  base: '/console/',
  // Vite's own oxc transform with React's automatic runtime (no fast refresh: the console is built, not served by Vite).
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    reportCompressedSize: false,
    rolldownOptions: {
      // Ant Design marks its modules "use client" (for React Server Components), meaningless in this bundle.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  logLevel: 'warn',
});

import { defineConfig } from 'vite';

/** The staff console's production build, served by the API at /console (src/api/console.ts). */
export default defineConfig({
  base: '/console/',
  // Always React's production build: Vite follows an inherited NODE_ENV, and the console's tests build
  // under Jest's NODE_ENV=test, which bundled React's development build (slower, 60 KB more gzipped).
  mode: 'production',
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  // Vite's own oxc transform with React's automatic runtime (no fast refresh: the console is built, not served by Vite).
  oxc: { jsx: { runtime: 'automatic', development: false } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    reportCompressedSize: false,
    rolldownOptions: {
      // What index.html loads in one chunk (beside the entry's own): left to itself, Rolldown cut it
      // into a dozen small shared files, each one more request in the first load's queue.
      output: { codeSplitting: { groups: [{ name: 'initial', tags: ['$initial'] }] } },
      // Ant Design marks its modules "use client" (for React Server Components), meaningless in this bundle.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  logLevel: 'warn',
});

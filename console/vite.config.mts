import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const SRC = path.join(import.meta.dirname, 'src');
const ANTD_ES = path.join(path.dirname(createRequire(import.meta.url).resolve('antd/package.json')), 'es');

const jsFiles = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
  const p = path.join(dir, f);
  return statSync(p).isDirectory() ? jsFiles(p) : /\.(js|tsx?)$/.test(f) ? [p] : [];
});

/** The antd modules `sources` import (from 'antd' by name, or by path), and every antd module those import in turn. */
function antdModulesOf(sources: string[]): string[] {
  const byName = new Map([...readFileSync(path.join(ANTD_ES, 'index.js'), 'utf8').matchAll(/export \{ default as (\w+) \} from '\.\/([\w-]+)'/g)].map((m) => [m[1], path.join(ANTD_ES, m[2], 'index.js')]));
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import) ["'](\.{1,2}\/[^"']+)["']/g)) {
      const target = path.resolve(path.dirname(file), spec);
      const found = [`${target}.js`, path.join(target, 'index.js')].find((f) => statSync(f, { throwIfNoEntry: false })?.isFile());
      if (found) visit(found);
    }
  };
  for (const source of sources) {
    for (const [, names, spec] of readFileSync(source, 'utf8').matchAll(/^import (?!type )([^;]*?) from '(antd[^']*)'/gm)) {
      if (spec !== 'antd') visit(path.join(ANTD_ES, `${spec.replace(/^antd\/(es\/)?/, '')}.js`));
      else for (const name of names.replace(/[{}]/g, '').split(',').map((n) => n.trim().split(/\s+/)[0])) if (byName.has(name)) visit(byName.get(name)!);
    }
  }
  return [...seen];
}

/** The class prefixes (btn, table, select-tree...) these antd modules give their elements. */
const prefixesOf = (modules: string[]) => new Set(modules.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/getPrefixCls\(\s*['"]([a-z-]+)['"]/g)].map((m) => m[1])));

/** A stylesheet's top-level blocks (rules and at-rules), as written. */
function blocks(css: string): string[] {
  const out: string[] = [];
  for (let i = 0, depth = 0, start = 0; i < css.length; i++) {
    if (css[i] === '{') depth++;
    else if (css[i] === '}' && --depth === 0) {
      out.push(css.slice(start, i + 1));
      start = i + 1;
    }
  }
  return out;
}

/**
 * Ant Design's static sheet (antd/dist/antd.css, the theme's zeroRuntime in App.tsx) in two parts,
 * rules unchanged and in their order: `antd:first.css`, what the shell and the inbox (`first`) can
 * render, and `antd:pages.css`, the rest the other pages can render (every page but the inbox
 * imports it). A rule is in neither when every antd class its selector names belongs to a
 * component no source can render (cascader, upload, tour...): about half the sheet the first view
 * parsed and matched before.
 */
function antdStyles(first: string[]): Plugin {
  const sheets = () => {
    const known = [...prefixesOf(jsFiles(ANTD_ES))].sort((a, b) => b.length - a.length);
    const owners = new Map<string, string | undefined>();
    const owner = (cls: string) => {
      if (!owners.has(cls)) owners.set(cls, known.find((p) => cls === p || cls.startsWith(`${p}-`)));
      return owners.get(cls);
    };
    const usedBy = (modules: string[]) => {
      const reachable = prefixesOf(modules);
      // Classes of no known component (motion, wave, the theme's variables) are always kept.
      return (selector: string) => [...selector.matchAll(/\.ant-([a-z0-9-]+)/g)].some((m) => {
        const p = owner(m[1]);
        return p === undefined || reachable.has(p);
      }) || !selector.includes('.ant-');
    };
    const inFirst = usedBy(antdModulesOf(first.map((f) => path.join(SRC, f))));
    const inAny = usedBy(antdModulesOf(jsFiles(SRC)));
    const split = (block: string): [string, string] => {
      const open = block.indexOf('{');
      const head = block.slice(0, open);
      if (/^@(media|supports|container)/.test(head)) {
        const parts = blocks(block.slice(open + 1, -1)).map(split);
        const wrap = (css: string) => (css ? `${head}{${css}}` : '');
        return [wrap(parts.map((p) => p[0]).join('')), wrap(parts.map((p) => p[1]).join(''))];
      }
      if (head.startsWith('@') || inFirst(head)) return [block, ''];
      return ['', inAny(head) ? block : ''];
    };
    const parts = blocks(readFileSync(path.join(ANTD_ES, '..', 'dist', 'antd.css'), 'utf8')).map(split);
    return { 'first.css': parts.map((p) => p[0]).join(''), 'pages.css': parts.map((p) => p[1]).join('') };
  };
  let built: ReturnType<typeof sheets> | undefined;
  return {
    name: 'antd-styles',
    resolveId: (id) => (/^antd:(first|pages)\.css$/.test(id) ? `/@${id.replace(':', '/')}` : undefined),
    load(id) {
      const m = /^\/@antd\/(first|pages)\.css$/.exec(id);
      if (!m) return undefined;
      built ??= sheets();
      return built[`${m[1]}.css` as keyof typeof built];
    },
  };
}

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
  plugins: [antdStyles(['App.tsx', 'pages/Tasks.tsx'])],
  logLevel: 'warn',
});

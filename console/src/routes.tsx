import { type ComponentType, lazy, useState } from 'react';

/*
 * The console's pages and its hash routes, apart from App.tsx: this module runs before Ant Design's,
 * and starts loading the opening page's code.
 */

type PageProps = { id?: string };
type PageModule = { default: ComponentType<PageProps> };

/**
 * A page whose code loads on first visit, or that renders at once when its code is here already.
 * The first render waits for the opening page's code (main.tsx), so the first view shows no Suspense
 * fallback: React holds back the content replacing a fallback until 300 ms after the fallback
 * showed, which was the first load's longest wait for the inbox.
 */
function lazyPage(load: () => Promise<PageModule>) {
  let loaded: PageModule['default'] | undefined;
  const preload = () => load().then((m) => (loaded = m.default));
  const Lazy = lazy(() => preload().then((page) => ({ default: page })));
  function Page(props: PageProps) {
    // Chosen once per mount: switching from Lazy to the loaded page would mount the page again.
    const [Current] = useState(() => loaded ?? Lazy);
    return <Current {...props} />;
  }
  return Object.assign(Page, { preload });
}

/** Pages load on first visit: the sign-in and the inbox stay small, ECharts comes with the dashboard only. */
export const pages = {
  tasks: lazyPage(() => import('./pages/Tasks')),
  cases: lazyPage(() => import('./pages/Cases')),
  dashboard: lazyPage(() => import('./pages/Dashboard')),
  vehicle: lazyPage(() => import('./pages/Vehicle')),
  settings: lazyPage(() => import('./pages/Settings')),
  replacement: lazyPage(() => import('./pages/Replacement')),
};
export type Page = keyof typeof pages;

/** Hash routes (#/cases/<id>): the server serves one index.html and needs no fallback. */
export function routeOf(hash: string): [Page, string | undefined] {
  const [page, id] = hash.replace(/^#\/?/, '').split('/');
  return [(page in pages ? page : 'tasks') as Page, id ? decodeURIComponent(id) : undefined];
}

/**
 * The code of the page the address opens (most visits: the inbox), asked for as this module runs:
 * main.tsx imports it first, so the page's chunk downloads while the rest of the initial chunk is
 * evaluated, and awaits it before the first render. A page whose code fails to load here is asked
 * for again as it renders.
 */
export const openingPage = pages[routeOf(window.location.hash)[0]].preload().catch(() => undefined);

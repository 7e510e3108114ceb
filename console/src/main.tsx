// Ant Design's styles as one static sheet (the theme's zeroRuntime in App.tsx): generating them in
// the browser was about a third of the first render's main-thread time. The theme's tokens still
// apply, as the CSS variables antd sets at run time.
import 'antd/dist/antd.css';
// First: it starts loading the opening page's code (routes.tsx).
import { openingPage } from './routes';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { openingSession } from './session';

// The first render waits for the session (asked for by index.html before the scripts loaded, so
// usually answered already) and for the code of the page it opens: the page renders once, with no
// spinner to render and replace. Not a top-level await: the page's chunk imports modules of this
// one, which must finish evaluating first.
void Promise.all([openingSession, openingPage]).then(([me]) => {
  createRoot(document.getElementById('root')!).render(<App me={me} />);
});

// Ant Design's styles as one static sheet (the theme's zeroRuntime in App.tsx): generating them in
// the browser was about a third of the first render's main-thread time. The theme's tokens still
// apply, as the CSS variables antd sets at run time.
import 'antd/dist/antd.css';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { openingSession } from './session';

// The first render waits for the session (asked for by index.html before the scripts loaded, so
// usually answered already): the page renders once, with no spinner to render and replace.
createRoot(document.getElementById('root')!).render(<App me={await openingSession} />);

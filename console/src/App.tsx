import { App as AntApp, Button, ConfigProvider, Layout, Menu, Result, Select, Space, Spin, Typography } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { api } from './api/client';
import { type Lang, LangContext, useT, WORDS } from './i18n';
import { type Page, pages, routeOf } from './routes';
import { SessionContext, type Me } from './session';

/** The sign-in form (and Ant Design's forms with it) loads only when someone is signed out: most loads are signed in. */
const SignIn = lazy(() => import('./SignIn'));

const MANAGERS = ['manager', 'general_manager'];
const DESK = ['cr_specialist', ...MANAGERS];

function useRoute(): [Page, string | undefined] {
  const [route, setRoute] = useState(() => routeOf(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(routeOf(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** `me`: the session the page opened with (null: signed out), known before the first render. */
export function App({ me }: { me: Me | null }) {
  const [lang, setLangState] = useState<Lang>(() => (localStorage.getItem('huifang.lang') === 'en' ? 'en' : 'zh'));
  const setLang = useCallback((l: Lang) => {
    localStorage.setItem('huifang.lang', l);
    document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
    dayjs.locale(l === 'zh' ? 'zh-cn' : 'en');
    setLangState(l);
  }, []);
  useEffect(() => setLang(lang), [lang, setLang]);
  const langValue = useMemo(() => ({ lang, t: WORDS[lang], setLang }), [lang, setLang]);
  return (
    <LangContext.Provider value={langValue}>
      <ConfigProvider locale={lang === 'zh' ? zhCN : enUS} theme={{ zeroRuntime: true, token: {
        colorPrimary: '#1456c8', colorInfo: '#1456c8', colorLink: '#1456c8', colorTextSecondary: 'rgba(0,0,0,0.68)', colorTextDescription: 'rgba(0,0,0,0.62)',
        // Hovered and pressed, darker rather than lighter: white on a hovered button and blue text on white keep WCAG AA contrast (axe checks the hovered button).
        colorPrimaryHover: '#0f46a3', colorPrimaryActive: '#0b3680', colorLinkHover: '#0f46a3', colorLinkActive: '#0b3680',
        // Form errors and danger buttons: antd's red is 3.9:1 on white, this one 5.9:1.
        colorError: '#cf1322', colorErrorHover: '#a8071a', colorErrorActive: '#820014',
      } }}>
        <AntApp>
          <Shell initial={me} />
        </AntApp>
      </ConfigProvider>
    </LangContext.Provider>
  );
}

function Shell({ initial }: { initial: Me | null }) {
  const { t, lang, setLang } = useT();
  const [me, setMe] = useState(initial);
  const [storeId, setStoreId] = useState(initial?.memberships[0]?.storeId);
  const [page, id] = useRoute();
  // After a sign-in: who signed in, and their first store unless one is chosen already.
  const load = useCallback(async () => {
    const { data } = await api.GET('/v1/auth/me');
    setMe(data ?? null);
    setStoreId((s) => s ?? data?.memberships[0]?.storeId);
  }, []);

  if (me === null) return <Suspense fallback={<Spin fullscreen />}><SignIn onDone={load} /></Suspense>;
  const roles = me.memberships.filter((m) => m.storeId === storeId).map((m) => m.role);
  const menu = [
    { key: 'tasks', label: t.tasks },
    { key: 'cases', label: t.cases, show: roles.some((r) => DESK.includes(r)) },
    { key: 'replacement', label: t.replacement, show: roles.some((r) => DESK.includes(r)) },
    { key: 'dashboard', label: t.dashboard, show: roles.some((r) => DESK.includes(r) || r === 'supervisor') },
    { key: 'settings', label: t.settings, show: roles.some((r) => MANAGERS.includes(r)) },
  ];
  const items = menu.filter((i) => i.show !== false).map(({ key, label }) => ({ key, label: <a href={`#/${key}`}>{label}</a> }));
  // A page out of the role's menu, typed into the address bar, is refused here too (the API refuses its calls anyway).
  const refused = menu.some((i) => i.key === page && i.show === false);
  const Current = pages[page];
  const stores = [...new Set(me.memberships.map((m) => m.storeId))];
  const signOut = async () => {
    await api.POST('/v1/auth/sign-out');
    setMe(null);
  };
  return (
    <SessionContext.Provider value={{ me, storeId: storeId!, roles }}>
      <Layout style={{ minHeight: '100vh' }}>
        <Layout.Header style={{ display: 'flex', alignItems: 'center', gap: 12, paddingInline: 16, flexWrap: 'wrap', height: 'auto', minHeight: 64 }}>
          <Typography.Title level={1} style={{ color: '#fff', margin: 0, fontSize: 18, whiteSpace: 'nowrap' }}>{t.title}</Typography.Title>
          <Menu theme="dark" mode="horizontal" selectedKeys={[page]} items={items} style={{ flex: 1, minWidth: 120 }} aria-label={t.title} />
          <Space wrap>
            {stores.length > 1 && <Select aria-label={t.store} value={storeId} onChange={setStoreId} options={stores.map((s) => ({ value: s, label: s }))} />}
            <Typography.Text style={{ color: '#fff' }}>{me.memberships.find((m) => m.storeId === storeId)?.name}</Typography.Text>
            <Button size="small" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')}>{t.language}</Button>
            <Button size="small" onClick={signOut}>{t.signOut}</Button>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: 16 }}>
          <main>
            {refused ? <Result status="403" title={t.noAccess} /> : (
              <Suspense fallback={<Spin />}>
                <Current id={id} key={`${page}/${storeId}`} />
              </Suspense>
            )}
          </main>
        </Layout.Content>
      </Layout>
    </SessionContext.Provider>
  );
}

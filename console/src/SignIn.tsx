import { Button, Form, Input, Result, Space, Typography } from 'antd';
import { useState } from 'react';
import { api, problem } from './api/client';
import { useT } from './i18n';

/** Sign in with a staff login; `onDone` reads the session it opened. */
export default function SignIn({ onDone }: { onDone: () => void }) {
  const { t, lang, setLang } = useT();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (values: { login: string; password: string }) => {
    setBusy(true);
    const { error: failed } = await api.POST('/v1/auth/sign-in', { body: { ...values, session: 'cookie' } });
    setBusy(false);
    if (failed) setError(failed.error === 'Unauthorized' ? t.wrongLogin : problem(failed));
    else onDone();
  };
  return (
    <main style={{ maxWidth: 360, margin: '12vh auto', padding: 16 }}>
      <Typography.Title level={1} style={{ fontSize: 24 }}>{t.title}</Typography.Title>
      <Form layout="vertical" onFinish={submit} requiredMark={false}>
        <Form.Item label={t.login} name="login" rules={[{ required: true }]}><Input autoComplete="username" /></Form.Item>
        <Form.Item label={t.password} name="password" rules={[{ required: true }]}><Input.Password autoComplete="current-password" /></Form.Item>
        {error && <Result status="warning" title={error} style={{ padding: 8 }} />}
        <Space>
          <Button type="primary" htmlType="submit" loading={busy}>{t.signIn}</Button>
          <Button onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')}>{t.language}</Button>
        </Space>
      </Form>
    </main>
  );
}

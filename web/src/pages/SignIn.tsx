import { LockOutlined, MailOutlined, SafetyCertificateOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Card, Form, Input, Segmented, Typography } from 'antd';
import { post, type Me } from '../api.js';
import { useI18n, type Lang } from '../i18n.js';

export function SignIn() {
  const { t, lang, setLang } = useI18n();
  const queryClient = useQueryClient();
  const signIn = useMutation({
    mutationFn: (body: { email: string; password: string }) => post<{ user: Me }>('/api/v1/auth/session', body),
    onSuccess: (res) => queryClient.setQueryData(['me'], res.user),
  });
  return (
    <div style={{ minHeight: '100vh', display: 'grid', placeItems: 'center', background: 'linear-gradient(135deg,#1f2937,#374151)', padding: 16 }}>
      <Card style={{ width: '100%', maxWidth: 400 }}>
        <div style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center', marginBottom: 16 }}>
          <Typography.Title level={3} style={{ margin: 0 }}>
            <SafetyCertificateOutlined style={{ color: '#ff6a00' }} /> {t('app.name')}
          </Typography.Title>
          <Segmented<Lang> size="small" aria-label={t('nav.language')} value={lang} onChange={setLang} options={[{ label: 'EN', value: 'en' }, { label: '中文', value: 'zh' }]} />
        </div>
        <Typography.Title level={4} style={{ marginTop: 0 }}>{t('signIn.title')}</Typography.Title>
        <Form layout="vertical" onFinish={(v: { email: string; password: string }) => signIn.mutate(v)} requiredMark={false}>
          <Form.Item label={t('signIn.email')} name="email" rules={[{ required: true, message: t('common.required', { label: t('signIn.email') }) }]}>
            <Input prefix={<MailOutlined />} autoComplete="username" type="email" autoFocus />
          </Form.Item>
          <Form.Item label={t('signIn.password')} name="password" rules={[{ required: true, message: t('common.required', { label: t('signIn.password') }) }]}>
            <Input.Password prefix={<LockOutlined />} autoComplete="current-password" />
          </Form.Item>
          {signIn.isError && <Alert type="error" showIcon role="alert" title={signIn.error.message} style={{ marginBottom: 16 }} />}
          <Button type="primary" htmlType="submit" block loading={signIn.isPending}>
            {t('signIn.submit')}
          </Button>
        </Form>
        <Typography.Paragraph type="secondary" style={{ marginTop: 16, marginBottom: 0, fontSize: 12 }}>{t('signIn.hint')}</Typography.Paragraph>
      </Card>
    </div>
  );
}

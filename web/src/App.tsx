/** The console shell: sign-in gate, navigation by role, language switch, and the page routes. */
import { AuditOutlined, CloudServerOutlined, DashboardOutlined, LogoutOutlined, MailOutlined, SafetyCertificateOutlined, SettingOutlined, TeamOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App as AntApp, Button, ConfigProvider, Grid, Layout, Menu, Segmented, Space, Spin, Typography } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { lazy, Suspense } from 'react';
import { Navigate, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { ApiError, del, get, type Me } from './api.js';
import { ErrorAlert } from './components.js';
import { usePrefersReducedMotion } from './hooks.js';
import { useI18n, type Lang, type MessageKey } from './i18n.js';
import { Certificates } from './pages/Certificates.js';
import { InstancePage } from './pages/InstancePage.js';
import { Overview } from './pages/Overview.js';
import { SignIn } from './pages/SignIn.js';

// Reviewer and admin pages load on first visit: most people who sign in are subscribers.
const ReviewQueue = lazy(() => import('./pages/ReviewDesk.js').then((m) => ({ default: m.ReviewQueue })));
const ReviewDetailPage = lazy(() => import('./pages/ReviewDesk.js').then((m) => ({ default: m.ReviewDetailPage })));
const AdminUsers = lazy(() => import('./pages/Admin.js').then((m) => ({ default: m.AdminUsers })));
const AdminCa = lazy(() => import('./pages/Admin.js').then((m) => ({ default: m.AdminCa })));
const AdminSettings = lazy(() => import('./pages/Admin.js').then((m) => ({ default: m.AdminSettings })));
const AdminOutbox = lazy(() => import('./pages/Admin.js').then((m) => ({ default: m.AdminOutbox })));

export function useMe() {
  return useQuery({
    queryKey: ['me'],
    queryFn: async () => {
      try {
        return await get<Me>('/api/v1/me');
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return null;
        throw err;
      }
    },
    staleTime: 60_000,
  });
}

function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <Segmented<Lang>
      size="small"
      aria-label={t('nav.language')}
      value={lang}
      onChange={setLang}
      options={[
        { label: 'EN', value: 'en' },
        { label: '中文', value: 'zh' },
      ]}
    />
  );
}

function Shell({ me }: { me: Me }) {
  const { t } = useI18n();
  const navigate = useNavigate();
  const location = useLocation();
  const queryClient = useQueryClient();
  const screens = Grid.useBreakpoint();
  const narrow = !screens.md;
  const signOut = useMutation({
    mutationFn: () => del('/api/v1/auth/session'),
    onSettled: () => {
      // Signed out: the shell gives way to the sign-in form at once, without asking /me again, and nothing of the
      // account stays cached. (Clearing the whole cache would also drop the query the shell's gate watches.)
      queryClient.setQueryData(['me'], null);
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== 'me' });
      navigate('/');
    },
  });
  const item = (key: string, icon: React.ReactNode, label: MessageKey) => ({ key, icon, label: t(label) });
  const items = [
    item('/', <DashboardOutlined />, 'nav.overview'),
    item('/certificates', <SafetyCertificateOutlined />, 'nav.certificates'),
    ...(me.role !== 'subscriber' ? [item('/reviews', <AuditOutlined />, 'nav.reviews')] : []),
    ...(me.role === 'admin'
      ? [
          item('/admin/users', <TeamOutlined />, 'nav.users'),
          item('/admin/ca', <CloudServerOutlined />, 'nav.ca'),
          item('/admin/settings', <SettingOutlined />, 'nav.settings'),
          item('/admin/outbox', <MailOutlined />, 'nav.outbox'),
        ]
      : []),
  ];
  const selected = items.map((i) => i.key).filter((k) => (k === '/' ? location.pathname === '/' : location.pathname.startsWith(k)) || (k === '/certificates' && location.pathname.startsWith('/instances')));
  const menu = <Menu mode={narrow ? 'horizontal' : 'inline'} theme={narrow ? 'light' : 'dark'} selectedKeys={selected} items={items} onClick={(e) => navigate(e.key)} style={narrow ? { flex: 1, minWidth: 0 } : undefined} />;
  return (
    <Layout style={{ minHeight: '100vh' }}>
      {!narrow && (
        <Layout.Sider width={220} theme="dark">
          <div style={{ color: '#fff', padding: '18px 20px', fontSize: 18, fontWeight: 600 }}>
            <SafetyCertificateOutlined /> {t('app.name')}
            <div style={{ fontSize: 12, fontWeight: 400, opacity: 0.65 }}>{t('app.tagline')}</div>
          </div>
          <nav aria-label="main">{menu}</nav>
        </Layout.Sider>
      )}
      <Layout>
        <Layout.Header style={{ background: '#fff', padding: narrow ? '0 8px' : '0 24px', display: 'flex', alignItems: 'center', gap: 12, borderBottom: '1px solid #f0f0f0' }}>
          {narrow ? <nav aria-label="main" style={{ flex: 1, minWidth: 0 }}>{menu}</nav> : <div style={{ flex: 1 }} />}
          <Space size="middle">
            <LanguageSwitch />
            {!narrow && <Typography.Text type="secondary" data-testid="signed-in-as">{me.email} · {t(`admin.role.${me.role}`)}</Typography.Text>}
            <Button icon={<LogoutOutlined />} onClick={() => signOut.mutate()} loading={signOut.isPending} aria-label={t('nav.signOut')}>
              {narrow ? null : t('nav.signOut')}
            </Button>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: narrow ? 12 : 24 }}>
          <main>
            <Suspense fallback={<Spin />}>
              <Routes>
                <Route path="/" element={<Overview me={me} />} />
                <Route path="/certificates" element={<Certificates />} />
                <Route path="/instances/:id" element={<InstancePage me={me} />} />
                <Route path="/reviews" element={<ReviewQueue />} />
                <Route path="/reviews/:id" element={<ReviewDetailPage />} />
                <Route path="/admin/users" element={<AdminUsers />} />
                <Route path="/admin/ca" element={<AdminCa />} />
                <Route path="/admin/settings" element={<AdminSettings />} />
                <Route path="/admin/outbox" element={<AdminOutbox />} />
                <Route path="*" element={<Navigate to="/" replace />} />
              </Routes>
            </Suspense>
          </main>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}

export function App() {
  const { lang } = useI18n();
  const me = useMe();
  // Dialogs, drawers and popovers appear without animation for people who ask for less motion.
  const motion = !usePrefersReducedMotion();
  return (
    <ConfigProvider locale={lang === 'zh' ? zhCN : enUS} theme={{ token: { colorPrimary: '#ff6a00', borderRadius: 4, motion } }}>
      <AntApp>
        {me.isPending ? (
          <Spin fullscreen />
        ) : me.isError ? (
          <div style={{ padding: 24 }}>
            <ErrorAlert error={me.error} onRetry={() => void me.refetch()} />
          </div>
        ) : me.data ? (
          <Shell me={me.data} />
        ) : (
          <SignIn />
        )}
      </AntApp>
    </ConfigProvider>
  );
}

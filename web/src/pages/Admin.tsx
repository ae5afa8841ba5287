/** Admin pages: users and roles with instance grants, the CA hierarchy, settings, and the mail outbox. */
import { DownloadOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Col, Descriptions, Form, Input, InputNumber, Row, Select, Switch, Table, Typography } from 'antd';
import { Link } from 'react-router-dom';
import { ApiError, get, post, put, type CaDescription, type InstanceSummary, type OutboxMail, type Role, type Settings, type UserView } from '../api.js';
import { ErrorAlert, QueryView } from '../components.js';
import { useI18n } from '../i18n.js';

const ROLES: Role[] = ['subscriber', 'reviewer', 'admin'];

/** Puts a server error on its form field when it names one, else returns it for an alert. */
function fieldError(form: ReturnType<typeof Form.useForm>[0], err: Error, prefix: string[] = []): void {
  const name = err instanceof ApiError && err.field ? [...prefix, ...err.field.replace(/^settings\./, '').split('.')] : null;
  if (name) form.setFields([{ name, errors: [err.message] }]);
}

export function AdminUsers() {
  const { t, date } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const users = useQuery({ queryKey: ['users'], queryFn: () => get<{ items: UserView[] }>('/api/v1/users') });
  const [addForm] = Form.useForm();
  const [grantForm] = Form.useForm();
  const addUser = useMutation({
    mutationFn: (v: { email: string; role: string; password?: string }) => post<UserView>('/api/v1/users', v),
    onSuccess: (user) => {
      addForm.resetFields();
      void queryClient.invalidateQueries({ queryKey: ['users'] });
      void message.success(t('admin.userAdded', { email: user.email }));
    },
    onError: (e) => fieldError(addForm, e),
  });
  const setRole = useMutation({
    mutationFn: ({ id, role }: { id: string; role: string }) => put(`/api/v1/users/${id}/role`, { role }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['users'] }),
    onError: (e) => void message.error(e.message),
  });
  const grant = useMutation({
    mutationFn: (v: Record<string, unknown>) => post<InstanceSummary>('/api/v1/instances', v),
    onSuccess: (res) => {
      void message.success(t('admin.granted', { id: res.id, owner: res.owner }));
      void queryClient.invalidateQueries({ queryKey: ['instances'] });
    },
    onError: (e) => fieldError(grantForm, e),
  });
  const domainType = Form.useWatch('domainType', grantForm);
  const subscribers = (users.data?.items ?? []).filter((u) => u.role === 'subscriber');
  return (
    <>
      <Typography.Title level={3}>{t('nav.users')}</Typography.Title>
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={14}>
          <Card title={t('admin.users')}>
            {users.isError ? (
              <ErrorAlert error={users.error} onRetry={() => void users.refetch()} />
            ) : (
              <Table<UserView>
                rowKey="id"
                size="small"
                loading={users.isPending}
                dataSource={users.data?.items ?? []}
                scroll={{ x: 'max-content' }}
                columns={[
                  { title: t('admin.email'), dataIndex: 'email' },
                  {
                    title: t('admin.role'),
                    key: 'role',
                    render: (_, u) => <Select aria-label={`${t('admin.role')} ${u.email}`} size="small" style={{ width: 130 }} value={u.role} onChange={(role) => setRole.mutate({ id: u.id, role })} options={ROLES.map((r) => ({ value: r, label: t(`admin.role.${r}`) }))} />,
                  },
                  { title: t('admin.created'), key: 'created', render: (_, u) => date(u.createdAt) },
                ]}
              />
            )}
          </Card>
        </Col>
        <Col xs={24} xl={10}>
          <Card title={t('admin.addUser')}>
            <Form form={addForm} layout="vertical" initialValues={{ role: 'subscriber' }} onFinish={(v) => addUser.mutate(v)}>
              <Form.Item label={t('admin.email')} name="email" rules={[{ required: true, message: t('common.required', { label: t('admin.email') }) }]}>
                <Input type="email" autoComplete="off" />
              </Form.Item>
              <Form.Item label={t('admin.role')} name="role">
                <Select options={ROLES.map((r) => ({ value: r, label: t(`admin.role.${r}`) }))} />
              </Form.Item>
              {/* Someone added here signs in to the console, so the password is asked for; accounts for scripts only come from the CLI. */}
              <Form.Item label={t('admin.password')} name="password" rules={[{ required: true, min: 10, message: t('admin.passwordNeeded') }]}>
                <Input.Password autoComplete="new-password" />
              </Form.Item>
              {addUser.isError && !(addUser.error instanceof ApiError && addUser.error.field) && <ErrorAlert error={addUser.error} />}
              <Button type="primary" htmlType="submit" loading={addUser.isPending}>{t('admin.addUser')}</Button>
            </Form>
          </Card>
          <Card title={t('admin.grant')} style={{ marginTop: 16 }}>
            <Form form={grantForm} layout="vertical" initialValues={{ product: 'dv', domainType: 'single', termMonths: 12 }} onFinish={(v) => grant.mutate(v)}>
              <Form.Item label={t('admin.owner')} name="owner" rules={[{ required: true, message: t('common.required', { label: t('admin.owner') }) }]}>
                <Select showSearch options={subscribers.map((u) => ({ value: u.email, label: u.email }))} />
              </Form.Item>
              <Row gutter={8}>
                <Col span={12}>
                  <Form.Item label={t('apply.product')} name="product">
                    <Select options={(['dv', 'ov', 'ev'] as const).map((p) => ({ value: p, label: t(`product.${p}`) }))} />
                  </Form.Item>
                </Col>
                <Col span={12}>
                  <Form.Item label={t('list.type')} name="domainType">
                    <Select options={(['single', 'wildcard', 'multi'] as const).map((d) => ({ value: d, label: t(`domainType.${d}`, { count: 'n' }) }))} />
                  </Form.Item>
                </Col>
                {domainType === 'multi' && (
                  <Col span={12}>
                    <Form.Item label={t('admin.domainCount')} name="domainCount" initialValue={2}>
                      <InputNumber min={2} max={250} style={{ width: '100%' }} />
                    </Form.Item>
                  </Col>
                )}
                <Col span={12}>
                  <Form.Item label={t('admin.term')} name="termMonths">
                    <InputNumber min={1} max={60} style={{ width: '100%' }} />
                  </Form.Item>
                </Col>
              </Row>
              {grant.isError && !(grant.error instanceof ApiError && grant.error.field) && <ErrorAlert error={grant.error} />}
              <Button type="primary" htmlType="submit" loading={grant.isPending}>{t('admin.grant')}</Button>
            </Form>
          </Card>
        </Col>
      </Row>
    </>
  );
}

export function AdminCa() {
  const { t, date } = useI18n();
  const query = useQuery({ queryKey: ['ca'], queryFn: () => get<{ root: CaDescription; intermediate: CaDescription }>('/api/v1/ca') });
  const card = (title: string, c: CaDescription, href: string) => (
    <Card title={title} extra={<Button icon={<DownloadOutlined />} href={href} download>{t('admin.downloadPem')}</Button>}>
      <Descriptions size="small" column={1} bordered styles={{ label: { width: 150 } }}>
        <Descriptions.Item label={t('admin.subject')}>{c.subject}</Descriptions.Item>
        <Descriptions.Item label={t('detail.issuer')}>{c.issuer}</Descriptions.Item>
        <Descriptions.Item label={t('detail.key')}>{String(c.keyAlgorithm ?? '')}</Descriptions.Item>
        <Descriptions.Item label={t('detail.validity')}>{date(c.notBefore)} – {date(c.notAfter)}</Descriptions.Item>
        <Descriptions.Item label={t('detail.serial')}><Typography.Text code copyable>{c.serial}</Typography.Text></Descriptions.Item>
      </Descriptions>
    </Card>
  );
  return (
    <>
      <Typography.Title level={3}>{t('admin.ca')}</Typography.Title>
      <QueryView query={query}>
        {(h) => (
          <Row gutter={[16, 16]}>
            <Col xs={24} lg={12}>{card(t('admin.root'), h.root, '/ca/root.pem')}</Col>
            <Col xs={24} lg={12}>{card(t('admin.intermediate'), h.intermediate, '/ca/intermediate.pem')}</Col>
            <Col span={24}>
              <Button icon={<DownloadOutlined />} href="/ca/chain.pem" download>{t('admin.chain')}</Button>
            </Col>
          </Row>
        )}
      </QueryView>
    </>
  );
}

export function AdminSettings() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm();
  const query = useQuery({ queryKey: ['settings'], queryFn: () => get<Settings & { overriddenByFlags: string[] }>('/api/v1/settings') });
  const save = useMutation({
    mutationFn: (v: Partial<Settings>) => put<Settings>('/api/v1/settings', v),
    onSuccess: () => {
      // The server's error on a field from an earlier save no longer holds.
      form.setFields(form.getFieldsError().filter((f) => f.errors.length > 0).map((f) => ({ name: f.name, errors: [] })));
      void message.success(t('common.saved'));
      void queryClient.invalidateQueries({ queryKey: ['settings'] });
    },
    onError: (e) => fieldError(form, e),
  });
  return (
    <>
      <Typography.Title level={3}>{t('admin.settings')}</Typography.Title>
      <QueryView query={query}>
        {(s) => {
          const fixed = new Set(s.overriddenByFlags);
          return (
            <Card style={{ maxWidth: 760 }}>
              {fixed.size > 0 && <Alert style={{ marginBottom: 16 }} type="info" showIcon title={t('admin.overridden', { keys: [...fixed].join(', ') })} />}
              <Form
                form={form}
                layout="vertical"
                initialValues={s}
                onFinish={(v: Record<string, unknown>) => save.mutate(Object.fromEntries(Object.entries(v).filter(([k]) => !fixed.has(k))) as Partial<Settings>)}
              >
                <Form.Item label={t('admin.smtpUrl')} name="smtpUrl" extra={t('admin.smtpHelp')}>
                  <Input disabled={fixed.has('smtpUrl')} placeholder="smtp://user:pass@mail.example.com:587" />
                </Form.Item>
                <Form.Item label={t('admin.mailFrom')} name="mailFrom">
                  <Input disabled={fixed.has('mailFrom')} />
                </Form.Item>
                <Form.Item label={t('admin.resolvers')} name="dnsResolvers" extra={t('admin.resolversHelp')}>
                  <Select mode="tags" disabled={fixed.has('dnsResolvers')} open={false} tokenSeparators={[',', ' ']} />
                </Form.Item>
                <Form.Item label={t('admin.caa')} name="caaIdentities">
                  <Select mode="tags" disabled={fixed.has('caaIdentities')} open={false} tokenSeparators={[',', ' ']} />
                </Form.Item>
                <Form.Item label={t('admin.selfService')} name="selfServicePurchase" valuePropName="checked">
                  <Switch disabled={fixed.has('selfServicePurchase')} />
                </Form.Item>
                <Form.Item label={t('admin.allowIp')} name="allowIpAddresses" valuePropName="checked">
                  <Switch disabled={fixed.has('allowIpAddresses')} />
                </Form.Item>
                {save.isError && !(save.error instanceof ApiError && save.error.field) && <ErrorAlert error={save.error} />}
                <Button type="primary" htmlType="submit" loading={save.isPending}>{t('common.save')}</Button>
              </Form>
            </Card>
          );
        }}
      </QueryView>
    </>
  );
}

export function AdminOutbox() {
  const { t, date } = useI18n();
  const query = useQuery({ queryKey: ['outbox'], queryFn: () => get<{ items: OutboxMail[] }>('/api/v1/outbox') });
  return (
    <>
      <Typography.Title level={3}>{t('admin.outbox')}</Typography.Title>
      <Card>
        <Typography.Paragraph type="secondary">{t('admin.outboxHelp')} <Link to="/admin/settings">{t('admin.settings')}</Link></Typography.Paragraph>
        {query.isError ? (
          <ErrorAlert error={query.error} onRetry={() => void query.refetch()} />
        ) : (
          <Table<OutboxMail>
            rowKey="id"
            size="small"
            loading={query.isPending}
            dataSource={query.data?.items ?? []}
            locale={{ emptyText: t('admin.outboxEmpty') }}
            scroll={{ x: 'max-content' }}
            expandable={{ expandedRowRender: (m) => <pre style={{ whiteSpace: 'pre-wrap', margin: 0 }}>{m.text}</pre> }}
            columns={[
              { title: t('admin.created'), key: 'at', render: (_, m) => date(m.createdAt, true) },
              { title: t('admin.to'), dataIndex: 'to' },
              { title: t('admin.subject.mail'), dataIndex: 'subject' },
            ]}
          />
        )}
      </Card>
    </>
  );
}

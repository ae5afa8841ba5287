/** One certificate instance: status and cause, domain verification records with "Verify now", progress, the certificate, the application. */
import { CheckCircleTwoTone, CloseCircleTwoTone, ReloadOutlined } from '@ant-design/icons';
import { useMutation, useQuery } from '@tanstack/react-query';
import { Alert, App, Button, Card, Descriptions, Empty, Space, Steps, Tabs, Tag, Typography } from 'antd';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { get, post, type InstanceDetail, type Me, type Progress, type RevocationReason } from '../api.js';
import { ProductLabel, QueryView, StatusTag } from '../components.js';
import { useI18n } from '../i18n.js';
import { InstanceActions, useRefreshInstances } from './InstanceActions.js';

type Validation = InstanceDetail['validation'][number];

export function InstancePage({ me }: { me: Me }) {
  const { id = '' } = useParams();
  const { t, date } = useI18n();
  const [params, setParams] = useSearchParams();
  const query = useQuery({ queryKey: ['instance', id], queryFn: () => get<InstanceDetail>(`/api/v1/instances/${encodeURIComponent(id)}`) });
  return (
    <QueryView query={query}>
      {(d) => {
        const defaultTab = d.status === 'issued' || d.status === 'revoked' ? 'certificate' : d.status === 'pending_application' ? 'application' : 'verify';
        const tab = params.get('tab') ?? defaultTab;
        return (
          <>
            <Typography.Paragraph>
              <Link to="/certificates">← {t('nav.certificates')}</Link>
            </Typography.Paragraph>
            <Card>
              <Space orientation="vertical" style={{ width: '100%' }} size="middle">
                <Space wrap align="center" style={{ justifyContent: 'space-between', width: '100%' }}>
                  <Space wrap>
                    <Typography.Title level={3} style={{ margin: 0 }}>{d.domains.length ? d.domains.join(', ') : d.id}</Typography.Title>
                    <StatusTag status={d.status} />
                  </Space>
                  {(d.owner === me.email || me.role === 'admin') && <InstanceActions item={d} onDetailPage />}
                </Space>
                <Descriptions size="small" column={{ xs: 1, md: 3 }}>
                  <Descriptions.Item label={t('list.instance')}>{d.id}</Descriptions.Item>
                  <Descriptions.Item label={t('list.type')}><ProductLabel item={d} /></Descriptions.Item>
                  {d.expectedIssueDate && d.status !== 'issued' && <Descriptions.Item label={t('detail.expected')}>{date(d.expectedIssueDate.earliest)} – {date(d.expectedIssueDate.latest)}</Descriptions.Item>}
                  {d.certificate && <Descriptions.Item label={t('detail.validity')}>{date(d.certificate.notBefore)} – {date(d.certificate.notAfter)}</Descriptions.Item>}
                </Descriptions>
                {d.status === 'validation_failed' && d.failureReason && <Alert type="error" showIcon title={t('detail.failed')} description={d.failureReason} data-testid="failure-cause" />}
              </Space>
            </Card>
            <Card style={{ marginTop: 16 }}>
              <Tabs
                activeKey={tab}
                onChange={(k) => setParams({ tab: k }, { replace: true })}
                items={[
                  { key: 'verify', label: t('detail.tabVerify'), children: <VerificationTab d={d} /> },
                  { key: 'progress', label: t('detail.tabProgress'), children: <ProgressTab id={d.id} /> },
                  { key: 'certificate', label: t('detail.tabCertificate'), children: <CertificateTab d={d} /> },
                  { key: 'application', label: t('detail.tabApplication'), children: <ApplicationTab d={d} /> },
                ]}
              />
            </Card>
          </>
        );
      }}
    </QueryView>
  );
}

function VerificationTab({ d }: { d: InstanceDetail }) {
  const { t, date } = useI18n();
  const { message } = App.useApp();
  const refresh = useRefreshInstances();
  const verify = useMutation({
    mutationFn: () => post<InstanceDetail>(`/api/v1/instances/${d.id}/verify`),
    onSuccess: () => refresh(d.id),
    onError: (e) => void message.error(e.message),
  });
  if (d.validation.length === 0) return <Empty description={t('detail.noValidation')} />;
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      {d.review && (
        <Space wrap>
          <Tag color={d.review.emailConfirmed ? 'success' : 'default'}>{t('detail.email')}: {d.review.emailConfirmed ? t('common.yes') : t('common.no')}</Tag>
          <Tag>{t('detail.approvals')}: {d.review.approvals.length} / {d.review.approvalsRequired}</Tag>
        </Space>
      )}
      <Alert type="info" showIcon title={t('detail.verifyHelp')} />
      {d.actions.includes('verify') && (
        <Button type="primary" icon={<ReloadOutlined />} loading={verify.isPending} onClick={() => verify.mutate()} data-testid="verify-now">
          {t('detail.verifyNow')}
        </Button>
      )}
      {d.validation.map((v) => (
        <DomainCard key={v.domain} v={v} date={date} />
      ))}
    </Space>
  );
}

function DomainCard({ v, date }: { v: Validation; date: (iso: string | null, withTime?: boolean) => string }) {
  const { t } = useI18n();
  const color = v.status === 'valid' ? 'success' : v.status === 'invalid' ? 'error' : 'processing';
  return (
    <Card size="small" title={<Space wrap><span>{v.domain}</span><Tag color={color} data-testid={`dcv-${v.domain}`}>{t(`detail.${v.status}`)}</Tag></Space>} extra={v.status !== 'valid' ? <Typography.Text type="secondary">{t('detail.deadline')}: {date(v.deadline)}</Typography.Text> : null}>
      {v.dns && (
        <Descriptions title={t('detail.dnsRecord')} size="small" bordered column={1} styles={{ label: { width: 140 } }}>
          <Descriptions.Item label={t('detail.host')}><Typography.Text copyable code data-testid="dns-name">{v.dns.name}</Typography.Text></Descriptions.Item>
          <Descriptions.Item label={t('detail.recordType')}>TXT</Descriptions.Item>
          <Descriptions.Item label={t('detail.value')}><Typography.Text copyable code data-testid="dns-value">{v.dns.value}</Typography.Text></Descriptions.Item>
        </Descriptions>
      )}
      {v.file && (
        <Descriptions title={t('detail.file')} size="small" bordered column={1} style={{ marginTop: 12 }} styles={{ label: { width: 140 } }}>
          <Descriptions.Item label={t('detail.fileUrl')}><Typography.Text copyable code style={{ wordBreak: 'break-all' }}>{v.file.url}</Typography.Text></Descriptions.Item>
          <Descriptions.Item label={t('detail.fileContent')}><Typography.Text copyable code style={{ wordBreak: 'break-all' }}>{v.file.content}</Typography.Text></Descriptions.Item>
        </Descriptions>
      )}
      <Typography.Title level={5} style={{ marginTop: 12 }}>{t('detail.lastCheck')}</Typography.Title>
      {v.lastResults.length === 0 ? (
        <Typography.Text type="secondary">{t('detail.noCheck')}</Typography.Text>
      ) : (
        v.lastResults.map((r, i) => (
          <Alert
            key={i}
            style={{ marginBottom: 8 }}
            type={r.ok ? 'success' : 'warning'}
            icon={r.ok ? <CheckCircleTwoTone twoToneColor="#52c41a" /> : <CloseCircleTwoTone twoToneColor="#faad14" />}
            showIcon
            data-testid={`check-${r.method}`}
            title={
              <Space wrap>
                <Tag>{r.method.toUpperCase()}</Tag>
                {r.reason && <Tag color="orange">{r.reason}</Tag>}
                <Typography.Text type="secondary">{date(r.checkedAt, true)}</Typography.Text>
              </Space>
            }
            description={
              <>
                <div>{r.message}</div>
                <div>
                  {t('detail.expectedValue')}: <Typography.Text code>{r.expected}</Typography.Text>
                </div>
                <div>
                  {t('detail.found')}: {r.found.length ? r.found.map((f, j) => <Typography.Text code key={j}>{f}</Typography.Text>) : <Typography.Text type="secondary">{t('detail.nothing')}</Typography.Text>}
                </div>
              </>
            }
          />
        ))
      )}
    </Card>
  );
}

const FAILURE_EVENTS = /failed|rejected|not_found|forbidden|revoked/;

function ProgressTab({ id }: { id: string }) {
  const { t, date } = useI18n();
  const query = useQuery({ queryKey: ['progress', id], queryFn: () => get<Progress>(`/api/v1/instances/${id}/progress`) });
  return (
    <QueryView query={query}>
      {(p) => {
        const last =
          p.status === 'validation_failed'
            ? { title: t('status.validation_failed'), content: p.failureReason ?? '', status: 'error' as const }
            : p.status === 'issued' || p.status === 'revoked'
              ? null
              : { title: t(`status.${p.status}`), content: p.expectedIssueDate ? `${t('detail.expected')}: ${date(p.expectedIssueDate.earliest)} – ${date(p.expectedIssueDate.latest)}` : '', status: 'process' as const };
        return (
          <Steps
            orientation="vertical"
            size="small"
            data-testid="progress-steps"
            items={[
              ...p.events.map((e) => ({ title: date(e.at, true), content: e.message, status: FAILURE_EVENTS.test(e.type) ? ('error' as const) : ('finish' as const) })),
              ...(last ? [last] : []),
            ]}
          />
        );
      }}
    </QueryView>
  );
}

function CertificateTab({ d }: { d: InstanceDetail }) {
  const { t, date } = useI18n();
  const c = d.certificate;
  if (!c) return <Empty description={t('detail.notIssued')} />;
  return (
    <Descriptions bordered size="small" column={1} styles={{ label: { width: 180 } }}>
      <Descriptions.Item label={t('detail.serial')}><Typography.Text copyable code>{c.serial}</Typography.Text></Descriptions.Item>
      <Descriptions.Item label={t('detail.names')}>{(c.names ?? []).join(', ')}</Descriptions.Item>
      <Descriptions.Item label={t('detail.validity')}>{date(c.notBefore, true)} – {date(c.notAfter, true)}</Descriptions.Item>
      <Descriptions.Item label={t('detail.issuer')}>{c.issuer}</Descriptions.Item>
      <Descriptions.Item label={t('detail.key')}>{c.keyAlgorithm}</Descriptions.Item>
      <Descriptions.Item label={t('detail.sha256')}><Typography.Text copyable code style={{ wordBreak: 'break-all' }}>{c.fingerprints?.sha256}</Typography.Text></Descriptions.Item>
      {c.revokedAt && <Descriptions.Item label={t('status.revoked')}>{date(c.revokedAt, true)} ({c.revocationReason ? t(`revokeReason.${c.revocationReason as RevocationReason}`) : ''})</Descriptions.Item>}
    </Descriptions>
  );
}

function ApplicationTab({ d }: { d: InstanceDetail }) {
  const { t } = useI18n();
  const a = d.application;
  if (!a) return <Empty description={t('list.noDomains')} />;
  return (
    <Descriptions bordered size="small" column={{ xs: 1, md: 2 }}>
      <Descriptions.Item label={t('apply.domains')} span={2}>{a.domains.map((n) => n.display).join(', ')}</Descriptions.Item>
      <Descriptions.Item label={t('apply.contactName')}>{a.contact.name}</Descriptions.Item>
      <Descriptions.Item label={t('apply.contactEmail')}>{a.contact.email}</Descriptions.Item>
      <Descriptions.Item label={t('apply.contactPhone')}>{a.contact.phone}</Descriptions.Item>
      <Descriptions.Item label={t('apply.csr')}>{a.csr.mode === 'auto' ? `${t('apply.csrAuto')} · ${a.csr.keyAlgorithm ?? ''}` : t('apply.csrManual')}</Descriptions.Item>
      {a.organization && (
        <>
          <Descriptions.Item label={t('apply.orgName')}>{a.organization.name}</Descriptions.Item>
          <Descriptions.Item label={t('apply.orgReg')}>{a.organization.registrationNumber}</Descriptions.Item>
          <Descriptions.Item label={t('apply.orgAddress')} span={2}>{[a.organization.address, a.organization.city, a.organization.state, a.organization.country, a.organization.zipCode].join(', ')}</Descriptions.Item>
        </>
      )}
    </Descriptions>
  );
}

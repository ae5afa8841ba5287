/** The certificate list: status drop-down, domain search, pagination, per-row actions, and combining OV/EV instances. */
import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { Alert, Button, Card, Checkbox, Input, Modal, Select, Space, Table, Tag, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { get, post, type InstanceSummary, type Page, type Status } from '../api.js';
import { ErrorAlert, ProductLabel, StatusTag } from '../components.js';
import { useDebounced } from '../hooks.js';
import { useI18n } from '../i18n.js';
import { InstanceActions, useRefreshInstances } from './InstanceActions.js';

const STATUSES: Status[] = ['pending_application', 'domain_verification', 'under_review', 'issued', 'validation_failed', 'revoked'];

export function Certificates() {
  const { t, date } = useI18n();
  const [params, setParams] = useSearchParams();
  const status = (params.get('status') ?? '') as Status | '';
  const page = Number(params.get('page') ?? '1') || 1;
  const [pageSize, setPageSize] = useState(10);
  const [search, setSearch] = useState(params.get('domain') ?? '');
  const domain = useDebounced(search.trim(), 300);
  const [combining, setCombining] = useState(false);
  const set = (next: Record<string, string>) => setParams((p) => {
    for (const [k, v] of Object.entries(next)) {
      if (v) p.set(k, v);
      else p.delete(k);
    }
    return p;
  });
  useEffect(() => {
    if ((params.get('domain') ?? '') !== domain) set({ domain, page: '' });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [domain]);
  const qs = new URLSearchParams({ page: String(page), pageSize: String(pageSize), ...(status ? { status } : {}), ...(domain ? { domain } : {}) });
  const query = useQuery({ queryKey: ['instances', qs.toString()], queryFn: () => get<Page<InstanceSummary>>(`/api/v1/instances?${qs}`), placeholderData: keepPreviousData });

  const columns = [
    {
      title: t('list.domains'),
      key: 'domains',
      render: (_: unknown, r: InstanceSummary) => (
        <div>
          <Link to={`/instances/${r.id}`}>{r.domains.length ? r.domains.join(', ') : <Typography.Text type="secondary">{t('list.noDomains')}</Typography.Text>}</Link>
          <div>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>{r.id}</Typography.Text>
          </div>
        </div>
      ),
    },
    { title: t('list.type'), key: 'type', render: (_: unknown, r: InstanceSummary) => <ProductLabel item={r} />, responsive: ['md' as const] },
    {
      title: t('list.status'),
      key: 'status',
      render: (_: unknown, r: InstanceSummary) => (
        <Space orientation="vertical" size={2}>
          <StatusTag status={r.status} />
          {r.status === 'validation_failed' && r.failureReason && (
            <Typography.Text type="danger" style={{ fontSize: 12, maxWidth: 260 }} ellipsis={{ tooltip: r.failureReason }}>
              {r.failureReason}
            </Typography.Text>
          )}
        </Space>
      ),
    },
    {
      title: t('list.dates'),
      key: 'dates',
      responsive: ['lg' as const],
      render: (_: unknown, r: InstanceSummary) =>
        r.certificate ? t('list.validity', { from: date(r.certificate.notBefore), to: date(r.certificate.notAfter) }) : r.expectedIssueDate ? t('list.expected', { from: date(r.expectedIssueDate.earliest), to: date(r.expectedIssueDate.latest) }) : '—',
    },
    { title: t('common.actions'), key: 'actions', render: (_: unknown, r: InstanceSummary) => <InstanceActions item={r} /> },
  ];

  return (
    <>
      <Typography.Title level={3}>{t('list.title')}</Typography.Title>
      <Card>
        <Space wrap style={{ marginBottom: 16, width: '100%', justifyContent: 'space-between' }}>
          <Space wrap>
            <Select
              aria-label={t('list.status')}
              style={{ width: 200 }}
              value={status}
              onChange={(v) => set({ status: v, page: '' })}
              options={[{ value: '', label: t('status.all') }, ...STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))]}
              data-testid="status-filter"
            />
            <Input.Search aria-label={t('list.search')} placeholder={t('list.search')} allowClear value={search} onChange={(e) => setSearch(e.target.value)} style={{ width: 240 }} />
          </Space>
          <Button onClick={() => setCombining(true)}>{t('list.combine')}</Button>
        </Space>
        {query.isError ? (
          <ErrorAlert error={query.error} onRetry={() => void query.refetch()} />
        ) : (
          <Table<InstanceSummary>
            rowKey="id"
            loading={query.isPending}
            dataSource={query.data?.items ?? []}
            columns={columns}
            locale={{ emptyText: t('list.empty') }}
            scroll={{ x: 'max-content' }}
            pagination={{
              current: page,
              pageSize,
              total: query.data?.total ?? 0,
              showSizeChanger: true,
              pageSizeOptions: [10, 20, 50],
              showTotal: (total) => t('list.total', { total }),
              onChange: (p, size) => {
                setPageSize(size);
                set({ page: p > 1 ? String(p) : '' });
              },
            }}
          />
        )}
      </Card>
      {combining && <CombineModal onClose={() => setCombining(false)} />}
    </>
  );
}

function CombineModal({ onClose }: { onClose: () => void }) {
  const { t } = useI18n();
  const refresh = useRefreshInstances();
  const [picked, setPicked] = useState<string[]>([]);
  const query = useQuery({ queryKey: ['instances', 'combinable'], queryFn: () => get<Page<InstanceSummary>>('/api/v1/instances?status=pending_application&pageSize=100') });
  const candidates = (query.data?.items ?? []).filter((i) => i.product !== 'dv');
  const combine = useMutation({
    mutationFn: () => post<InstanceSummary>('/api/v1/instances/combine', { instanceIds: picked }),
    onSuccess: (res) => {
      refresh(res.id);
      onClose();
    },
  });
  return (
    <Modal open title={t('combine.title')} onCancel={onClose} onOk={() => combine.mutate()} okText={t('combine.submit')} okButtonProps={{ disabled: picked.length < 2, loading: combine.isPending }}>
      <Typography.Paragraph type="secondary">{t('combine.help')}</Typography.Paragraph>
      {query.isError && <ErrorAlert error={query.error} />}
      {query.isSuccess && candidates.length === 0 && <Alert type="info" title={t('combine.none')} />}
      <Checkbox.Group value={picked} onChange={(v) => setPicked(v as string[])} style={{ display: 'flex', flexDirection: 'column', gap: 8 }} aria-label={t('combine.pick')}>
        {candidates.map((c) => (
          <Checkbox key={c.id} value={c.id}>
            <Tag>{c.product.toUpperCase()}</Tag> {t(`domainType.${c.domainType}`, { count: c.domainCount })} · {c.id}
          </Checkbox>
        ))}
      </Checkbox.Group>
      {combine.isError && <div style={{ marginTop: 12 }}><ErrorAlert error={combine.error} /></div>}
    </Modal>
  );
}

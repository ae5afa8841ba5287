/** The reviewer desk: the OV/EV queue by age, and one application with documents, DCV and email state, phone verification, approve and reject. */
import { CheckOutlined, CloseOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Badge, Button, Card, Col, Descriptions, Empty, Form, Image, Input, Modal, Row, Select, Space, Table, Tag, Timeline, Typography } from 'antd';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { get, post, type DocumentKind, type ReviewDetail, type ReviewQueueItem } from '../api.js';
import { ErrorAlert, QueryView, StatusTag } from '../components.js';
import { useI18n } from '../i18n.js';
import { useMe } from '../App.js';

function age(iso: string | null, lang: string): string {
  if (!iso) return '—';
  const hours = Math.max(0, (Date.now() - Date.parse(iso)) / 3600_000);
  const rtf = new Intl.RelativeTimeFormat(lang === 'zh' ? 'zh-CN' : 'en', { numeric: 'auto' });
  return hours < 1 ? rtf.format(-Math.round(hours * 60), 'minute') : hours < 48 ? rtf.format(-Math.round(hours), 'hour') : rtf.format(-Math.round(hours / 24), 'day');
}

const yesNo = (ok: boolean) => <Badge status={ok ? 'success' : 'default'} text={ok ? '✓' : '—'} />;

export function ReviewQueue() {
  const { t, date, lang } = useI18n();
  const navigate = useNavigate();
  const query = useQuery({ queryKey: ['reviews'], queryFn: () => get<{ items: ReviewQueueItem[] }>('/api/v1/reviews') });
  return (
    <>
      <Typography.Title level={3}>{t('reviews.title')}</Typography.Title>
      <Card title={t('reviews.queue')}>
        {query.isError ? (
          <ErrorAlert error={query.error} onRetry={() => void query.refetch()} />
        ) : (
          <Table<ReviewQueueItem>
            rowKey="instanceId"
            loading={query.isPending}
            dataSource={query.data?.items ?? []}
            locale={{ emptyText: t('reviews.empty') }}
            scroll={{ x: 'max-content' }}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            onRow={(r) => ({ onDoubleClick: () => navigate(`/reviews/${r.instanceId}`) })}
            columns={[
              { title: t('reviews.organization'), key: 'org', render: (_, r) => <Link to={`/reviews/${r.instanceId}`}>{r.organization ?? r.instanceId}</Link> },
              { title: t('list.type'), key: 'product', render: (_, r) => <Tag color={r.product === 'ev' ? 'gold' : 'geekblue'}>{r.product.toUpperCase()}</Tag> },
              { title: t('list.domains'), key: 'domains', render: (_, r) => r.domains.join(', ') },
              { title: t('reviews.age'), key: 'age', render: (_, r) => <span title={date(r.submittedAt, true)}>{age(r.submittedAt, lang)}</span> },
              { title: t('reviews.emailConfirmed'), key: 'email', render: (_, r) => yesNo(r.emailConfirmed) },
              { title: t('reviews.dcv'), key: 'dcv', render: (_, r) => yesNo(r.domainsVerified) },
              { title: t('detail.approvals'), key: 'approvals', render: (_, r) => `${r.approvals.length} / ${r.approvalsRequired}` },
              { title: t('common.actions'), key: 'open', render: (_, r) => <Button type="link" onClick={() => navigate(`/reviews/${r.instanceId}`)} disabled={r.ownApplication}>{t('reviews.open')}</Button> },
            ]}
          />
        )}
      </Card>
    </>
  );
}

export function ReviewDetailPage() {
  const { id = '' } = useParams();
  const { t } = useI18n();
  const query = useQuery({ queryKey: ['review', id], queryFn: () => get<ReviewDetail>(`/api/v1/reviews/${encodeURIComponent(id)}`) });
  return (
    <>
      <Typography.Paragraph>
        <Link to="/reviews">← {t('reviews.title')}</Link>
      </Typography.Paragraph>
      <QueryView query={query}>{(r) => <ReviewBody r={r} />}</QueryView>
    </>
  );
}

function ReviewBody({ r }: { r: ReviewDetail }) {
  const { t, date } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [rejecting, setRejecting] = useState(false);
  const me = useMe().data;
  const approvedEnough = r.approvals.length >= r.approvalsRequired;
  const approvedByMe = r.approvals.some((a) => a.reviewer === me?.email);
  const [rejectForm] = Form.useForm<{ reason: string }>();
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['review', r.instanceId] });
    void queryClient.invalidateQueries({ queryKey: ['reviews'] });
    void queryClient.invalidateQueries({ queryKey: ['overview'] });
  };
  const approve = useMutation({
    mutationFn: () => post<{ approvals: number; approvalsRequired: number; issued: boolean; waitingFor: string[] }>(`/api/v1/reviews/${r.instanceId}/approve`),
    onSuccess: (res) => {
      refresh();
      const approved = `${t('reviews.approved')} (${res.approvals}/${res.approvalsRequired})`;
      // Approved is not issued: say what the issuance still waits for.
      if (res.waitingFor.length > 0) void message.info(`${approved}. ${t('reviews.waitingFor')} ${res.waitingFor.join('; ')}`, 8);
      else void message.success(approved);
    },
  });
  const reject = useMutation({
    mutationFn: (reason: string) => post(`/api/v1/reviews/${r.instanceId}/reject`, { reason }),
    onSuccess: () => {
      setRejecting(false);
      refresh();
      navigate('/reviews');
    },
    onError: (e) => rejectForm.setFields([{ name: 'reason', errors: [e.message] }]),
  });
  const phone = useMutation({
    mutationFn: (v: { result: string; note?: string }) => post(`/api/v1/reviews/${r.instanceId}/phone`, v),
    onSuccess: refresh,
  });
  const a = r.application;
  const inReview = r.status === 'under_review';
  const first = r.approvals[0];
  return (
    <Row gutter={[16, 16]}>
      <Col xs={24} lg={15}>
        <Card title={<Space wrap><span>{a?.organization?.name ?? r.instanceId}</span><Tag color={r.product === 'ev' ? 'gold' : 'geekblue'}>{r.product.toUpperCase()}</Tag><StatusTag status={r.status} /></Space>}>
          {!inReview && <Alert style={{ marginBottom: 12 }} type="info" showIcon title={t('reviews.notInReview', { status: t(`status.${r.status}`) })} />}
          {r.ownApplication && <Alert style={{ marginBottom: 12 }} type="warning" showIcon title={t('reviews.own')} />}
          {a ? (
            <Descriptions bordered size="small" column={{ xs: 1, md: 2 }}>
              <Descriptions.Item label={t('apply.domains')} span={2}>{a.domains.map((d) => d.display).join(', ')}</Descriptions.Item>
              {a.organization && (
                <>
                  <Descriptions.Item label={t('apply.orgName')}>{a.organization.name}</Descriptions.Item>
                  <Descriptions.Item label={t('apply.orgType')}>{t(`apply.orgType.${a.organization.type}`)}</Descriptions.Item>
                  <Descriptions.Item label={t('apply.orgReg')}>{a.organization.registrationNumber}</Descriptions.Item>
                  <Descriptions.Item label={t('apply.orgPhone')}>{a.organization.phone}</Descriptions.Item>
                  <Descriptions.Item label={t('apply.orgAddress')} span={2}>{[a.organization.address, a.organization.city, a.organization.state, a.organization.country].join(', ')} {a.organization.zipCode}</Descriptions.Item>
                </>
              )}
              <Descriptions.Item label={t('reviews.applicant')}>{a.contact.name}</Descriptions.Item>
              <Descriptions.Item label={t('apply.contactEmail')}>{a.contact.email}</Descriptions.Item>
              <Descriptions.Item label={t('apply.contactPhone')}>{a.contact.phone}</Descriptions.Item>
              <Descriptions.Item label={t('apply.contactId')}>{a.contact.idNumber}</Descriptions.Item>
            </Descriptions>
          ) : (
            <Empty />
          )}
        </Card>
        <Card title={t('reviews.documents')} style={{ marginTop: 16 }}>
          {r.documents.length === 0 ? (
            <Empty description={t('reviews.noDocuments')} />
          ) : (
            <Image.PreviewGroup>
              <Space wrap size="large">
                {r.documents.map((d) => (
                  <figure key={d.id} style={{ margin: 0, textAlign: 'center' }}>
                    <Image src={`/api/v1/reviews/${r.instanceId}/documents/${d.id}`} alt={`${d.kind}: ${d.fileName}`} width={200} style={{ border: '1px solid #f0f0f0', objectFit: 'contain', maxHeight: 260 }} />
                    <figcaption style={{ fontSize: 12 }}><Tag>{t(`apply.doc.${d.kind as DocumentKind}`)}</Tag>{d.fileName}</figcaption>
                  </figure>
                ))}
              </Space>
            </Image.PreviewGroup>
          )}
        </Card>
      </Col>
      <Col xs={24} lg={9}>
        <Card title={t('detail.tabVerify')}>
          <Space orientation="vertical" style={{ width: '100%' }}>
            <div>
              {t('reviews.emailConfirmed')}: {a?.emailConfirmedAt ? <Tag color="success" data-testid="email-confirmed">{date(a.emailConfirmedAt, true)}</Tag> : <Tag>{t('common.no')}</Tag>}
            </div>
            {r.validation.map((v) => (
              <div key={v.domain}>
                {v.domain}: <Tag color={v.status === 'valid' ? 'success' : v.status === 'invalid' ? 'error' : 'processing'}>{t(`detail.${v.status as 'valid' | 'pending' | 'invalid'}`)}</Tag>
              </div>
            ))}
          </Space>
        </Card>
        <Card title={t('reviews.phone')} style={{ marginTop: 16 }}>
          {r.phoneVerification && (
            <Alert style={{ marginBottom: 12 }} type="success" showIcon title={t('reviews.phoneRecorded', { result: t(`reviews.phone.${r.phoneVerification.result as 'reached'}`), reviewer: r.phoneVerification.reviewer })} description={r.phoneVerification.note || undefined} />
          )}
          <Form layout="vertical" onFinish={(v: { result: string; note?: string }) => phone.mutate(v)} disabled={!inReview || r.ownApplication}>
            <Form.Item label={t('reviews.phoneResult')} name="result" rules={[{ required: true, message: t('common.required', { label: t('reviews.phoneResult') }) }]}>
              <Select options={(['reached', 'unreachable', 'not_required'] as const).map((k) => ({ value: k, label: t(`reviews.phone.${k}`) }))} />
            </Form.Item>
            <Form.Item label={t('reviews.phoneNote')} name="note">
              <Input.TextArea rows={2} />
            </Form.Item>
            {phone.isError && <ErrorAlert error={phone.error} />}
            <Button htmlType="submit" loading={phone.isPending}>{t('reviews.phoneRecord')}</Button>
          </Form>
        </Card>
        <Card title={t('detail.approvals')} style={{ marginTop: 16 }}>
          <Space orientation="vertical" style={{ width: '100%' }}>
            <Typography.Text>
              {t('detail.approvals')}: {r.approvals.length} / {r.approvalsRequired}
            </Typography.Text>
            {r.product === 'ev' && first && <Alert type="info" showIcon title={t('reviews.firstApproval', { reviewer: first.reviewer, at: date(first.at, true) })} data-testid="first-approval" />}
            {approve.isError && <ErrorAlert error={approve.error} />}
            <Space wrap>
              <Button type="primary" icon={<CheckOutlined />} onClick={() => approve.mutate()} loading={approve.isPending} disabled={!inReview || r.ownApplication || approvedEnough || approvedByMe} data-testid="approve">
                {t('reviews.approve')}
              </Button>
              <Button danger icon={<CloseOutlined />} onClick={() => setRejecting(true)} disabled={!inReview || r.ownApplication} data-testid="reject">
                {t('reviews.reject')}
              </Button>
            </Space>
          </Space>
        </Card>
        {r.history.length > 0 && (
          <Card title={t('reviews.history')} style={{ marginTop: 16 }}>
            <Timeline
              items={r.history.map((h, i) => ({
                key: i,
                color: h.decision === 'approve' ? 'green' : 'red',
                content: (
                  <>
                    <strong>{h.decision === 'approve' ? t('reviews.approved') : t('reviews.rejected')}</strong> · {h.reviewer} · {date(h.at, true)}
                    {h.reason && <div>{h.reason}</div>}
                  </>
                ),
              }))}
            />
          </Card>
        )}
      </Col>
      <Modal open={rejecting} title={t('reviews.reject')} onCancel={() => setRejecting(false)} onOk={() => rejectForm.submit()} okText={t('reviews.reject')} okButtonProps={{ danger: true, loading: reject.isPending }} destroyOnHidden>
        <Form form={rejectForm} layout="vertical" onFinish={(v) => reject.mutate(v.reason)}>
          <Form.Item label={t('reviews.rejectReason')} name="reason" rules={[{ required: true, whitespace: true, message: t('common.required', { label: t('reviews.rejectReason') }) }]}>
            <Input.TextArea rows={4} autoFocus />
          </Form.Item>
        </Form>
      </Modal>
    </Row>
  );
}

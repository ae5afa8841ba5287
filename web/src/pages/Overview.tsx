import { useQuery } from '@tanstack/react-query';
import { Card, Col, Empty, List, Row, Statistic, Tag, Timeline, Typography } from 'antd';
import { Link, useNavigate } from 'react-router-dom';
import { get, type Me, type Overview as OverviewData, type Status } from '../api.js';
import { QueryView } from '../components.js';
import { useI18n } from '../i18n.js';

const STATUS_ORDER: Status[] = ['pending_application', 'domain_verification', 'under_review', 'issued', 'validation_failed', 'revoked'];

export function Overview({ me }: { me: Me }) {
  const { t, date } = useI18n();
  const navigate = useNavigate();
  const query = useQuery({ queryKey: ['overview'], queryFn: () => get<OverviewData>('/api/v1/overview') });
  return (
    <>
      <Typography.Title level={3}>{t('overview.title')}</Typography.Title>
      <QueryView query={query}>
        {(data) => (
          <Row gutter={[16, 16]}>
            <Col xs={12} md={6} lg={3}>
              <Card hoverable onClick={() => navigate('/certificates')} size="small" style={{ height: '100%' }}>
                <Statistic title={t('overview.total')} value={data.total} />
              </Card>
            </Col>
            {STATUS_ORDER.map((s) => (
              <Col xs={12} md={6} lg={3} key={s}>
                <Card hoverable size="small" style={{ height: '100%' }} onClick={() => navigate(`/certificates?status=${s}`)} data-testid={`count-${s}`}>
                  <Statistic title={t(`status.${s}`)} value={data.counts[s]} styles={s === 'validation_failed' && data.counts[s] > 0 ? { content: { color: '#cf1322' } } : undefined} />
                </Card>
              </Col>
            ))}
            {data.reviewQueue !== null && me.role !== 'subscriber' && (
              <Col xs={12} md={6} lg={3}>
                <Card hoverable size="small" style={{ height: '100%' }} onClick={() => navigate('/reviews')}>
                  <Statistic title={t('overview.reviewQueue')} value={data.reviewQueue} />
                </Card>
              </Col>
            )}
            <Col xs={24} lg={10}>
              <Card title={t('overview.expiring')}>
                {data.expiringSoon.length === 0 ? (
                  <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('overview.expiringNone')} />
                ) : (
                  <List
                    dataSource={data.expiringSoon}
                    renderItem={(c) => (
                      <List.Item extra={<Tag color={c.daysLeft <= 7 ? 'red' : 'orange'}>{t('overview.daysLeft', { days: c.daysLeft })}</Tag>}>
                        <List.Item.Meta title={<Link to={`/instances/${c.instanceId}`}>{c.domains.join(', ') || c.instanceId}</Link>} description={`${c.product.toUpperCase()} · ${date(c.notAfter)}`} />
                      </List.Item>
                    )}
                  />
                )}
              </Card>
            </Col>
            <Col xs={24} lg={14}>
              <Card title={t('overview.activity')}>
                {data.recentActivity.length === 0 ? (
                  <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('overview.activityNone')} />
                ) : (
                  <Timeline
                    items={data.recentActivity.map((e, i) => ({
                      key: i,
                      color: /failed|rejected|not_found|forbidden|revoked/.test(e.type) ? 'red' : e.type === 'issued' ? 'green' : 'blue',
                      content: (
                        <>
                          <Typography.Text type="secondary" style={{ fontSize: 12 }}>{date(e.at, true)} · </Typography.Text>
                          <Link to={`/instances/${e.instanceId}`}>{e.instanceId}</Link>
                          <div>{e.message}</div>
                        </>
                      ),
                    }))}
                  />
                )}
              </Card>
            </Col>
          </Row>
        )}
      </QueryView>
    </>
  );
}

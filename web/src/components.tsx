/** Small pieces every page uses: status tags, and the loading / error / empty states of a query. */
import { Alert, Button, Empty, Skeleton, Tag } from 'antd';
import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import type { InstanceSummary, Status } from './api.js';
import { useI18n } from './i18n.js';

const STATUS_COLORS: Record<Status, string> = {
  pending_application: 'default',
  domain_verification: 'processing',
  under_review: 'blue',
  issued: 'success',
  validation_failed: 'error',
  revoked: 'warning',
};

export function StatusTag({ status }: { status: Status }) {
  const { t } = useI18n();
  return (
    <Tag color={STATUS_COLORS[status]} data-status={status}>
      {t(`status.${status}`)}
    </Tag>
  );
}

export function ProductLabel({ item }: { item: Pick<InstanceSummary, 'product' | 'domainType' | 'domainCount' | 'quota' | 'combinedFrom'> }) {
  const { t } = useI18n();
  return (
    <span>
      <Tag color={item.product === 'ev' ? 'gold' : item.product === 'ov' ? 'geekblue' : 'cyan'}>{t(`product.${item.product}`)}</Tag>
      {item.combinedFrom.length > 0
        ? t('domainType.combined', { plain: item.quota.plain, wildcard: item.quota.wildcard })
        : t(`domainType.${item.domainType}`, { count: item.domainCount })}
    </span>
  );
}

export function ErrorAlert({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useI18n();
  const message = error instanceof Error ? error.message : String(error);
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      title={message}
      action={onRetry ? <Button size="small" onClick={onRetry}>{t('common.retry')}</Button> : undefined}
    />
  );
}

/** Renders a query's loading, error and empty states, and `children(data)` once it has data. */
export function QueryView<T>({ query, empty, isEmpty, children }: { query: UseQueryResult<T>; empty?: ReactNode; isEmpty?: (data: T) => boolean; children: (data: T) => ReactNode }) {
  const { t } = useI18n();
  if (query.isPending) return <Skeleton active aria-label={t('common.loading')} />;
  if (query.isError) return <ErrorAlert error={query.error} onRetry={() => void query.refetch()} />;
  if (isEmpty?.(query.data)) return <Empty description={empty ?? t('common.empty')} />;
  return <>{children(query.data)}</>;
}

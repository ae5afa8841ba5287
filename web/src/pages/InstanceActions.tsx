/** The actions a certificate's status allows, as buttons: the same in the list and on the detail page. */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Form, Modal, Popconfirm, Select, Space } from 'antd';
import { useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { post, type InstanceSummary } from '../api.js';
import { useI18n } from '../i18n.js';
import { ApplyDrawer } from './ApplyDrawer.js';
import { DownloadModal } from './DownloadModal.js';

const REVOKE_REASONS = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'] as const;

export function useRefreshInstances() {
  const queryClient = useQueryClient();
  return (id?: string) => {
    void queryClient.invalidateQueries({ queryKey: ['instances'] });
    void queryClient.invalidateQueries({ queryKey: ['overview'] });
    if (id) {
      void queryClient.invalidateQueries({ queryKey: ['instance', id] });
      void queryClient.invalidateQueries({ queryKey: ['progress', id] });
    }
  };
}

/** A button whose action runs once the person confirms it. */
function ConfirmedButton(p: { action: string; confirm: string; label: string; run: { mutate(): void; isPending: boolean }; size: 'small' | 'middle'; type: 'default' | 'link' }) {
  return (
    <Popconfirm title={p.confirm} onConfirm={() => p.run.mutate()}>
      <Button size={p.size} type={p.type} loading={p.run.isPending} data-action={p.action}>
        {p.label}
      </Button>
    </Popconfirm>
  );
}

export function InstanceActions({ item, onDetailPage = false }: { item: InstanceSummary; onDetailPage?: boolean }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const refresh = useRefreshInstances();
  const [applying, setApplying] = useState(false);
  const [downloading, setDownloading] = useState(false);
  const [revoking, setRevoking] = useState(false);
  const [reason, setReason] = useState<(typeof REVOKE_REASONS)[number]>('unspecified');
  const withdraw = useMutation({
    mutationFn: () => post(`/api/v1/instances/${item.id}/withdraw`),
    onSuccess: () => refresh(item.id),
    onError: (err) => void message.error(err.message),
  });
  const reissue = useMutation({
    mutationFn: () => post(`/api/v1/instances/${item.id}/reissue`, {}),
    onSuccess: () => refresh(item.id),
    onError: (err) => void message.error(err.message),
  });
  const revoke = useMutation({
    mutationFn: () => post(`/api/v1/certificates/${item.certificate?.id ?? ''}/revoke`, { reason }),
    onSuccess: () => {
      setRevoking(false);
      refresh(item.id);
    },
    onError: (err) => void message.error(err.message),
  });
  const can = (a: string) => item.actions.includes(a);
  const size = onDetailPage ? 'middle' : 'small';
  const type = onDetailPage ? 'default' : 'link';
  const failed = item.status === 'validation_failed';
  return (
    <Space wrap size={onDetailPage ? 'small' : 0}>
      {can('edit') && (
        <Button size={size} type={onDetailPage ? 'primary' : 'link'} onClick={() => setApplying(true)} data-action={failed ? 'resubmit' : 'apply'}>
          {failed ? t('action.resubmit') : t('action.apply')}
        </Button>
      )}
      {item.status === 'domain_verification' && !onDetailPage && (
        <Button size={size} type={type} onClick={() => navigate(`/instances/${item.id}`)} data-action="verify">
          {t('action.verify')}
        </Button>
      )}
      {item.status !== 'pending_application' && !onDetailPage && (
        <Button size={size} type={type} onClick={() => navigate(`/instances/${item.id}?tab=progress`)} data-action="progress">
          {t('action.progress')}
        </Button>
      )}
      {can('download') && (
        <Button size={size} type={onDetailPage ? 'primary' : 'link'} onClick={() => setDownloading(true)} data-action="download">
          {t('action.download')}
        </Button>
      )}
      {can('withdraw') && <ConfirmedButton action="withdraw" confirm={t('action.withdrawConfirm')} label={t('action.withdraw')} run={withdraw} size={size} type={type} />}
      {can('reissue') && <ConfirmedButton action="reissue" confirm={t('action.reissueConfirm')} label={t('action.reissue')} run={reissue} size={size} type={type} />}
      {can('revoke') && item.certificate && (
        <Button size={size} type={type} danger onClick={() => setRevoking(true)} data-action="revoke">
          {t('action.revoke')}
        </Button>
      )}
      {applying && <ApplyDrawer instanceId={item.id} onClose={() => setApplying(false)} />}
      {downloading && <DownloadModal instanceId={item.id} onClose={() => setDownloading(false)} />}
      <Modal open={revoking} title={t('action.revoke')} onCancel={() => setRevoking(false)} onOk={() => revoke.mutate()} okButtonProps={{ danger: true, loading: revoke.isPending }} okText={t('action.revoke')}>
        <p>{t('action.revokeConfirm')}</p>
        <Form layout="vertical">
          <Form.Item label={t('action.revokeReason')} htmlFor="revoke-reason">
            <Select id="revoke-reason" value={reason} onChange={setReason} options={REVOKE_REASONS.map((r) => ({ value: r, label: t(`revokeReason.${r}`) }))} />
          </Form.Item>
        </Form>
      </Modal>
    </Space>
  );
}

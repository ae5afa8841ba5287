/** Download dialog: pick the server type, see what its zip holds, download it. */
import { DownloadOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Alert, Button, List, Modal, Radio, Spin, Typography } from 'antd';
import { useState } from 'react';
import { get, type InstanceDetail } from '../api.js';
import { ErrorAlert } from '../components.js';
import { useI18n } from '../i18n.js';

const SERVER_LABELS: Record<string, string> = { nginx: 'Nginx', apache: 'Apache', iis: 'IIS', tomcat: 'Tomcat', other: 'Other' };

export function DownloadModal({ instanceId, onClose }: { instanceId: string; onClose: () => void }) {
  const { t } = useI18n();
  const [server, setServer] = useState('nginx');
  const detail = useQuery({ queryKey: ['instance', instanceId], queryFn: () => get<InstanceDetail>(`/api/v1/instances/${instanceId}`) });
  const cert = detail.data?.certificate;
  const bundle = cert?.downloads?.find((d) => d.server === server);
  return (
    <Modal open title={t('download.title')} onCancel={onClose} footer={null}>
      {detail.isPending ? (
        <Spin />
      ) : detail.isError ? (
        <ErrorAlert error={detail.error} />
      ) : (
        <>
          <Typography.Paragraph strong id="server-type-label">{t('download.server')}</Typography.Paragraph>
          <Radio.Group aria-labelledby="server-type-label" optionType="button" buttonStyle="solid" value={server} onChange={(e) => setServer(e.target.value as string)} options={Object.entries(SERVER_LABELS).map(([value, label]) => ({ value, label }))} />
          <Typography.Paragraph strong style={{ marginTop: 16 }}>{t('download.contains')}</Typography.Paragraph>
          <List
            size="small"
            bordered
            dataSource={bundle?.files ?? []}
            renderItem={(f) => (
              <List.Item>
                <List.Item.Meta title={<Typography.Text code>{f.name}</Typography.Text>} description={f.description} />
              </List.Item>
            )}
          />
          {(server === 'iis' || server === 'tomcat') && <Alert style={{ marginTop: 12 }} type="info" showIcon title={t('download.password')} />}
          {cert && !cert.privateKeyIncluded && <Alert style={{ marginTop: 12 }} type="warning" showIcon title={t('download.noKey')} />}
          <Button type="primary" icon={<DownloadOutlined />} style={{ marginTop: 16 }} href={`/api/v1/instances/${instanceId}/download?server=${server}`} download data-testid="download-zip">
            {t('download.button', { server: SERVER_LABELS[server] ?? server })}
          </Button>
        </>
      )}
    </Modal>
  );
}

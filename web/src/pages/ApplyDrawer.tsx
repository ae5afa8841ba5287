/**
 * The "Apply for Certificate" panel: fields follow the product (DV: contact;
 * OV/EV: organization and documents too), domains and a pasted CSR are checked
 * by the server as the user types, and every server error lands on its field.
 */
import { DeleteOutlined, FilePdfOutlined, UploadOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Col, Divider, Drawer, Form, Grid, Image, Input, Radio, Row, Select, Space, Spin, Tag, Typography, Upload } from 'antd';
import type { FormInstance } from 'antd';
import { useEffect, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, ApiError, del, get, post, put, type CsrCheck, type DomainCheck, type InstanceDetail, type ProfileView } from '../api.js';
import { ErrorAlert, ProductLabel } from '../components.js';
import { useDebounced } from '../hooks.js';
import { useI18n, type MessageKey } from '../i18n.js';
import { useRefreshInstances } from './InstanceActions.js';

const KEY_ALGORITHMS = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'];
const ORG_TYPES = ['private', 'business', 'government', 'non_commercial'] as const;
const DOC_KINDS = ['business_license', 'authorization_letter', 'id_card', 'other'] as const;
const MAX_DOCUMENT_BYTES = 500 * 1024;
const CONTACT_FIELDS: [string, MessageKey][] = [
  ['name', 'apply.contactName'],
  ['email', 'apply.contactEmail'],
  ['phone', 'apply.contactPhone'],
  ['idNumber', 'apply.contactId'],
];
const ORG_FIELDS: [string, MessageKey][] = [
  ['name', 'apply.orgName'],
  ['phone', 'apply.orgPhone'],
  ['registrationNumber', 'apply.orgReg'],
  ['country', 'apply.orgCountry'],
  ['state', 'apply.orgState'],
  ['city', 'apply.orgCity'],
  ['address', 'apply.orgAddress'],
  ['zipCode', 'apply.orgZip'],
];

interface FormValues {
  domains: string;
  contact: Record<string, string>;
  organization?: Record<string, string>;
  saveContactAs?: string;
  saveOrganizationAs?: string;
  csrMode: 'auto' | 'manual';
  keyAlgorithm?: string;
  pem?: string;
}

/** The form field a server error is about: `domains[2]` → domains, `csr.pem` → pem, `contact.email` → contact.email. */
function formField(field: string | undefined): (string | number)[] | null {
  if (!field) return null;
  if (field === 'domains' || field.startsWith('domains[')) return ['domains'];
  if (field === 'csr.pem') return ['pem'];
  if (field === 'csr.keyAlgorithm') return ['keyAlgorithm'];
  if (field === 'csr.mode') return ['csrMode'];
  const m = /^(contact|organization)\.(\w+)$/.exec(field);
  if (m?.[1] && m[2]) return [m[1], m[2]];
  return null;
}

export function ApplyDrawer({ instanceId, onClose }: { instanceId: string; onClose: () => void }) {
  const { t } = useI18n();
  const screens = Grid.useBreakpoint();
  const detail = useQuery({ queryKey: ['instance', instanceId], queryFn: () => get<InstanceDetail>(`/api/v1/instances/${instanceId}`) });
  const profiles = useQuery({ queryKey: ['profiles'], queryFn: () => get<{ items: ProfileView[] }>('/api/v1/profiles') });
  return (
    <Drawer open title={t('apply.title')} size={screens.md ? 760 : '100%'} onClose={onClose} destroyOnHidden>
      {detail.isPending ? <Spin /> : detail.isError ? <ErrorAlert error={detail.error} onRetry={() => void detail.refetch()} /> : <ApplyForm detail={detail.data} profiles={profiles.data?.items ?? []} onDone={onClose} />}
    </Drawer>
  );
}

function ApplyForm({ detail, profiles, onDone }: { detail: InstanceDetail; profiles: ProfileView[]; onDone: () => void }) {
  const { t } = useI18n();
  const { message, modal } = App.useApp();
  const navigate = useNavigate();
  const refresh = useRefreshInstances();
  const [form] = Form.useForm<FormValues>();
  const [formError, setFormError] = useState<string | null>(null);
  const id = detail.id;
  const organizational = detail.product !== 'dv';
  const app = detail.application;
  const initial: FormValues = {
    domains: app ? app.domains.map((d) => d.display).join('\n') : '',
    contact: app ? { ...app.contact } : {},
    ...(app?.organization ? { organization: { ...app.organization } } : {}),
    csrMode: app?.csr.mode ?? 'auto',
    keyAlgorithm: app?.csr.keyAlgorithm ?? 'ecdsa-p256',
    pem: app?.csr.mode === 'manual' ? (app.csr.pem ?? '') : '',
  };

  const domainsText = Form.useWatch('domains', form) ?? initial.domains;
  const csrMode = Form.useWatch('csrMode', form) ?? initial.csrMode;
  const debounced = useDebounced(domainsText, 400);
  const check = useQuery({
    queryKey: ['check-domains', id, debounced],
    queryFn: () => post<DomainCheck>(`/api/v1/instances/${id}/check-domains`, { domains: debounced }),
    enabled: debounced.trim() !== '',
    staleTime: 60_000,
  });
  useEffect(() => {
    if (!check.data || debounced !== form.getFieldValue('domains')) return;
    form.setFields([{ name: ['domains'], errors: check.data.problem ? [check.data.problem.message] : [] }]);
  }, [check.data, debounced, form]);

  const showServerError = (err: Error) => {
    const name = err instanceof ApiError ? formField(err.field) : null;
    if (name) {
      // The field path comes from the server, so it is not one of the form's typed paths.
      (form as FormInstance).setFields([{ name, errors: [err.message] }]);
      (form as FormInstance).scrollToField(name);
      setFormError(null);
    } else {
      setFormError(err.message);
      // The message sits at the top of a long panel: bring it into view, or the button seems to do nothing.
      requestAnimationFrame(() => document.querySelector('[data-testid="form-error"]')?.scrollIntoView({ block: 'center' }));
    }
  };

  const body = (v: FormValues) => ({
    domains: v.domains,
    csr: v.csrMode === 'manual' ? { mode: 'manual', pem: v.pem ?? '' } : { mode: 'auto', keyAlgorithm: v.keyAlgorithm },
    contact: v.contact,
    ...(organizational ? { organization: v.organization ?? {} } : {}),
    ...(v.saveContactAs?.trim() ? { saveContactAs: v.saveContactAs.trim() } : {}),
    ...(organizational && v.saveOrganizationAs?.trim() ? { saveOrganizationAs: v.saveOrganizationAs.trim() } : {}),
  });
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: async ({ values, submit }: { values: FormValues; submit: boolean }) => {
      await put(`/api/v1/instances/${id}/application`, body(values));
      if (values.saveContactAs || values.saveOrganizationAs) void queryClient.invalidateQueries({ queryKey: ['profiles'] });
      return submit ? post<InstanceDetail>(`/api/v1/instances/${id}/submit`) : null;
    },
    onSuccess: (submitted) => {
      refresh(id);
      setFormError(null);
      if (!submitted) {
        void message.success(t('common.saved'));
        return;
      }
      onDone();
      // A resubmission whose names are all still proven is issued at once, or refused at once (CAA).
      if (submitted.status === 'issued') {
        void message.success(t('apply.submittedIssued'));
        navigate(`/instances/${id}`);
      } else if (submitted.status === 'validation_failed') {
        void message.error(submitted.failureReason ?? t('apply.submittedFailed'));
        navigate(`/instances/${id}`);
      } else if (submitted.product === 'dv') {
        void message.success(t('apply.submittedDv'));
        navigate(`/instances/${id}`);
      } else {
        modal.success({ title: t('apply.title'), content: t('apply.submittedOv') });
      }
    },
    onError: showServerError,
  });

  const run = (submit: boolean) => form.validateFields().then((values) => save.mutate({ values, submit }), () => undefined);
  const contactProfiles = profiles.filter((p) => p.kind === 'contact');
  const orgProfiles = profiles.filter((p) => p.kind === 'organization');
  const required = (label: MessageKey) => [{ required: true, whitespace: true, message: t('common.required', { label: t(label) }) }];
  const tip =
    detail.combinedFrom.length > 0
      ? t('apply.domainsTip.combined', { plain: detail.quota.plain, wildcard: detail.quota.wildcard })
      : detail.domainType === 'multi'
        ? t('apply.domainsTip.multi', { count: detail.quota.plain })
        : t(`apply.domainsTip.${detail.domainType}`);

  return (
    <Form<FormValues> form={form} layout="vertical" initialValues={initial} onFinish={() => run(true)} scrollToFirstError>
      <Space style={{ marginBottom: 16 }} wrap>
        <ProductLabel item={detail} />
        <Typography.Text type="secondary">{detail.id}</Typography.Text>
      </Space>
      {detail.status === 'validation_failed' && detail.failureReason && <Alert type="error" showIcon style={{ marginBottom: 16 }} title={t('apply.failedCause')} description={detail.failureReason} data-testid="failure-cause" />}
      {formError && <Alert type="error" showIcon role="alert" style={{ marginBottom: 16 }} title={formError} data-testid="form-error" />}

      <Form.Item
        label={t('apply.domains')}
        name="domains"
        tooltip={tip}
        rules={required('apply.domains')}
        extra={
          <div>
            <div>{tip}</div>
            <div>{t('apply.quota', { plain: detail.quota.plain, wildcard: detail.quota.wildcard })}</div>
            {check.isFetching && <div>{t('apply.checking')}</div>}
            {check.data?.valid && debounced === domainsText && (
              <Typography.Text type="success" data-testid="domains-ok">
                {t('apply.namesOk', { count: check.data.names.length, names: check.data.names.map((n) => n.display).join(', ') })}
              </Typography.Text>
            )}
          </div>
        }
      >
        <Input.TextArea rows={detail.domainType === 'multi' ? 4 : 1} autoSize={{ minRows: 1, maxRows: 8 }} placeholder={detail.domainType === 'wildcard' ? '*.example.com' : 'www.example.com'} spellCheck={false} />
      </Form.Item>

      <Divider titlePlacement="start">{t('apply.contact')}</Divider>
      {contactProfiles.length > 0 && (
        <Form.Item label={t('apply.useProfile')} htmlFor="contact-profile">
          <Select id="contact-profile" allowClear options={contactProfiles.map((p) => ({ value: p.id, label: p.name }))} onChange={(pid) => {
            const p = contactProfiles.find((x) => x.id === pid);
            if (p) form.setFieldsValue({ contact: p.data as unknown as Record<string, string> });
          }} />
        </Form.Item>
      )}
      <Row gutter={16}>
        {CONTACT_FIELDS.map(([key, label]) => (
          <Col xs={24} sm={12} key={key}>
            <Form.Item label={t(label)} name={['contact', key]} rules={required(label)} extra={key === 'email' ? t('apply.contactEmailHelp') : undefined}>
              <Input type={key === 'email' ? 'email' : key === 'phone' ? 'tel' : 'text'} autoComplete={key === 'email' ? 'email' : key === 'phone' ? 'tel' : key === 'name' ? 'name' : 'off'} />
            </Form.Item>
          </Col>
        ))}
      </Row>
      <Form.Item label={t('apply.saveProfile')} name="saveContactAs">
        <Input placeholder="e.g. Ops contact" />
      </Form.Item>

      {organizational && <OrganizationSection form={form} profiles={orgProfiles} required={required} />}

      <Divider titlePlacement="start">{t('apply.csr')}</Divider>
      <Form.Item label={t('apply.csr')} name="csrMode">
        <Radio.Group
          options={[
            { value: 'auto', label: t('apply.csrAuto') },
            { value: 'manual', label: t('apply.csrManual') },
          ]}
        />
      </Form.Item>
      {csrMode === 'auto' ? (
        <Form.Item label={t('apply.keyAlgorithm')} name="keyAlgorithm" extra={t('apply.csrAutoHelp')}>
          <Select options={KEY_ALGORITHMS.map((k) => ({ value: k, label: k.toUpperCase().replace('ECDSA-', 'ECDSA ').replace('RSA-', 'RSA ') }))} />
        </Form.Item>
      ) : (
        <CsrField form={form} names={check.data?.valid ? check.data.names.map((n) => n.name) : null} />
      )}

      {organizational && <DocumentsSection detail={detail} />}

      <Space style={{ marginTop: 24 }} wrap>
        <Button onClick={() => run(false)} loading={save.isPending && !save.variables?.submit}>
          {t('apply.saveDraft')}
        </Button>
        <Button type="primary" htmlType="submit" loading={save.isPending && save.variables?.submit} data-testid="apply-submit">
          {detail.product === 'dv' ? t('apply.submitDv') : t('apply.submit')}
        </Button>
      </Space>
    </Form>
  );
}

function OrganizationSection({ form, profiles, required }: { form: FormInstance<FormValues>; profiles: ProfileView[]; required: (label: MessageKey) => object[] }) {
  const { t } = useI18n();
  return (
    <>
      <Divider titlePlacement="start">{t('apply.organization')}</Divider>
      {profiles.length > 0 && (
        <Form.Item label={t('apply.useProfile')} htmlFor="org-profile">
          <Select id="org-profile" allowClear options={profiles.map((p) => ({ value: p.id, label: p.name }))} onChange={(pid) => {
            const p = profiles.find((x) => x.id === pid);
            if (p) form.setFieldsValue({ organization: p.data as unknown as Record<string, string> });
          }} />
        </Form.Item>
      )}
      <Row gutter={16}>
        <Col xs={24} sm={12}>
          <Form.Item label={t('apply.orgType')} name={['organization', 'type']} rules={required('apply.orgType')}>
            <Select options={ORG_TYPES.map((o) => ({ value: o, label: t(`apply.orgType.${o}`) }))} />
          </Form.Item>
        </Col>
        {ORG_FIELDS.map(([key, label]) => (
          <Col xs={24} sm={key === 'address' ? 24 : 12} key={key}>
            <Form.Item label={t(label)} name={['organization', key]} rules={required(label)}>
              <Input maxLength={key === 'country' ? 2 : undefined} />
            </Form.Item>
          </Col>
        ))}
      </Row>
      <Form.Item label={t('apply.saveProfile')} name="saveOrganizationAs">
        <Input placeholder="e.g. Head office" />
      </Form.Item>
    </>
  );
}

function CsrField({ form, names }: { form: FormInstance<FormValues>; names: string[] | null }) {
  const { t } = useI18n();
  const [result, setResult] = useState<CsrCheck | null>(null);
  const check = useMutation({
    mutationFn: () => post<CsrCheck>('/api/v1/csr/check', { pem: form.getFieldValue('pem') ?? '', names: names ?? [] }),
    onSuccess: (r) => {
      setResult(r);
      form.setFields([{ name: ['pem'], errors: r.problem ? [r.problem.message] : [] }]);
    },
  });
  return (
    <>
      <Form.Item label={t('apply.csrPem')} name="pem" rules={[{ required: true, message: t('common.required', { label: t('apply.csrPem') }) }]}>
        <Input.TextArea rows={8} spellCheck={false} style={{ fontFamily: 'monospace', fontSize: 12 }} placeholder="-----BEGIN CERTIFICATE REQUEST-----" onBlur={() => form.getFieldValue('pem') && check.mutate()} />
      </Form.Item>
      <Space style={{ marginBottom: 16 }} wrap>
        <Button onClick={() => check.mutate()} loading={check.isPending}>
          {t('apply.csrCheck')}
        </Button>
        {result?.valid && <Typography.Text type="success">{t('apply.csrOk', { key: result.key ?? '', names: result.names.join(', ') })}</Typography.Text>}
        {check.isError && <Typography.Text type="danger">{check.error.message}</Typography.Text>}
      </Space>
    </>
  );
}

function DocumentsSection({ detail }: { detail: InstanceDetail }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const refresh = useRefreshInstances();
  const [kind, setKind] = useState<string>('business_license');
  const [problem, setProblem] = useState<string | null>(null);
  const remove = useMutation({ mutationFn: (docId: string) => del(`/api/v1/instances/${detail.id}/documents/${docId}`), onSuccess: () => refresh(detail.id), onError: (e) => void message.error(e.message) });
  return (
    <>
      <Divider titlePlacement="start">{t('apply.documents')}</Divider>
      <Typography.Paragraph type="secondary">{t('apply.documentsHelp')}</Typography.Paragraph>
      <Typography.Paragraph>
        {detail.domains.length > 0 ? (
          <a href={`/api/v1/instances/${detail.id}/authorization-letter`} download>
            <FilePdfOutlined /> {t('apply.letterTemplate')}
          </a>
        ) : (
          <Typography.Text type="secondary">
            <FilePdfOutlined /> {t('apply.letterAfterSave')}
          </Typography.Text>
        )}
      </Typography.Paragraph>
      <Row gutter={16} align="bottom">
        <Col xs={24} sm={10}>
          <Form.Item label={t('apply.documentKind')} htmlFor="doc-kind">
            <Select id="doc-kind" value={kind} onChange={setKind} options={DOC_KINDS.map((k) => ({ value: k, label: t(`apply.doc.${k}`) }))} />
          </Form.Item>
        </Col>
        <Col xs={24} sm={14}>
          <Form.Item label={t('apply.upload')} validateStatus={problem ? 'error' : undefined} help={problem ?? undefined}>
            <Upload
              accept="image/png,image/jpeg"
              showUploadList={false}
              beforeUpload={(file) => {
                // Refused here, before any byte is sent; the server checks the bytes again.
                if (file.type !== 'image/png' && file.type !== 'image/jpeg') {
                  setProblem(t('apply.notImage', { name: file.name }));
                  return Upload.LIST_IGNORE;
                }
                if (file.size > MAX_DOCUMENT_BYTES) {
                  setProblem(t('apply.tooLarge', { name: file.name, size: Math.ceil(file.size / 1024) }));
                  return Upload.LIST_IGNORE;
                }
                setProblem(null);
                return true;
              }}
              customRequest={({ file, onSuccess, onError }) => {
                const data = new FormData();
                data.set('kind', kind);
                data.set('file', file as File, (file as File).name);
                api('POST', `/api/v1/instances/${detail.id}/documents`, data).then(
                  (res) => {
                    onSuccess?.(res);
                    void message.success(t('apply.uploaded', { name: (file as File).name }));
                    refresh(detail.id);
                  },
                  (err: Error) => {
                    setProblem(err.message);
                    onError?.(err);
                  },
                );
              }}
            >
              <Button icon={<UploadOutlined />}>{t('apply.upload')}</Button>
            </Upload>
          </Form.Item>
        </Col>
      </Row>
      <Space wrap size="middle" data-testid="documents">
        {detail.documents.map((d) => (
          <div key={d.id} style={{ border: '1px solid #f0f0f0', padding: 8, borderRadius: 4, textAlign: 'center' }}>
            <Image src={`/api/v1/instances/${detail.id}/documents/${d.id}`} alt={d.fileName} width={96} height={96} style={{ objectFit: 'contain' }} />
            <div style={{ fontSize: 12, maxWidth: 120, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>
              <Tag>{t(`apply.doc.${d.kind as (typeof DOC_KINDS)[number]}`)}</Tag>
              {d.fileName}
            </div>
            {(detail.status === 'pending_application' || detail.status === 'validation_failed') && (
              <Button size="small" type="text" danger icon={<DeleteOutlined />} aria-label={`delete ${d.fileName}`} onClick={() => remove.mutate(d.id)} />
            )}
          </div>
        ))}
      </Space>
    </>
  );
}

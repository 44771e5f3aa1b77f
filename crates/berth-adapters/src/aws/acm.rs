//! Certificates in ACM: those berth requests (a customer's `*.{customer}.{domain}` for its
//! dotted product hosts, validated by DNS in the deployment's zone), and the one a customer's
//! own domain names, described before it goes on a listener.

use std::collections::BTreeMap;

use aws_sdk_acm::operation::delete_certificate::DeleteCertificateError;
use aws_sdk_acm::operation::describe_certificate::DescribeCertificateError;
use aws_sdk_acm::types::{CertificateStatus, Tag, ValidationMethod};
use aws_sdk_acm::Client;
use berth_domain::naming::{MANAGED_BY_VALUE, TAG_CUSTOMER, TAG_MANAGED_BY};

use crate::classify::{built, classify};
use crate::model::{CertificateObserved, ValidationRecord};
use crate::ports::{Certificates, Result};

const SERVICE: &str = "acm";

#[derive(Debug, Clone)]
pub struct AcmApi {
    client: Client,
}

impl AcmApi {
    pub fn new(client: Client) -> Self {
        AcmApi { client }
    }
}

impl Certificates for AcmApi {
    async fn find(&self, domain: &str, customer: &str) -> Result<Option<CertificateObserved>> {
        let mut candidates = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_certificates()
                .certificate_statuses(CertificateStatus::PendingValidation)
                .certificate_statuses(CertificateStatus::Issued)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify(SERVICE, "ListCertificates", e))?;
            candidates.extend(
                out.certificate_summary_list()
                    .iter()
                    .filter(|c| c.domain_name() == Some(domain))
                    .filter_map(|c| c.certificate_arn().map(str::to_string)),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        for arn in candidates {
            let tags = self
                .client
                .list_tags_for_certificate()
                .certificate_arn(&arn)
                .send()
                .await
                .map_err(|e| classify(SERVICE, "ListTagsForCertificate", e))?;
            let tags: BTreeMap<&str, &str> = tags.tags().iter().map(|t| (t.key(), t.value().unwrap_or_default())).collect();
            if tags.get(TAG_CUSTOMER) == Some(&customer) && tags.get(TAG_MANAGED_BY) == Some(&MANAGED_BY_VALUE) {
                return self.describe(&arn).await;
            }
        }
        Ok(None)
    }

    async fn request(&self, domain: &str, token: &str, tags: &BTreeMap<String, String>) -> Result<String> {
        let tags: Vec<Tag> = tags.iter().map(|(k, v)| built(Tag::builder().key(k).value(v).build())).collect::<Result<_>>()?;
        let out = self
            .client
            .request_certificate()
            .domain_name(domain)
            .validation_method(ValidationMethod::Dns)
            .idempotency_token(token)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "RequestCertificate", e))?;
        Ok(out.certificate_arn().unwrap_or_default().to_string())
    }

    async fn describe(&self, arn: &str) -> Result<Option<CertificateObserved>> {
        let out = match self.client.describe_certificate().certificate_arn(arn).send().await {
            Ok(out) => out,
            Err(e) if matches!(e.as_service_error(), Some(DescribeCertificateError::ResourceNotFoundException(_))) => return Ok(None),
            Err(e) => return Err(classify(SERVICE, "DescribeCertificate", e)),
        };
        let Some(c) = out.certificate() else { return Ok(None) };
        let validation = c.domain_validation_options().iter().find_map(|d| {
            let r = d.resource_record()?;
            Some(ValidationRecord { name: r.name().to_string(), value: r.value().to_string() })
        });
        let domain = c.domain_name().unwrap_or_default().to_string();
        let mut names = vec![domain.clone()];
        names.extend(c.subject_alternative_names().iter().filter(|n| **n != domain).cloned());
        Ok(Some(CertificateObserved {
            arn: arn.to_string(),
            domain,
            names,
            status: c.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            validation,
        }))
    }

    async fn delete(&self, arn: &str) -> Result<bool> {
        match self.client.delete_certificate().certificate_arn(arn).send().await {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.as_service_error(), Some(DeleteCertificateError::ResourceNotFoundException(_))) => Ok(false),
            Err(e) => Err(classify(SERVICE, "DeleteCertificate", e)),
        }
    }
}

//! The customers' own IAM roles.

use std::collections::BTreeMap;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::{SummaryKeyType, Tag};
use aws_sdk_iam::Client;
use berth_domain::BerthError;

use crate::classify::{built, classify};
use crate::model::{RoleObserved, RoleQuota, RoleSpec};
use crate::ports::{Result, Roles};

const SERVICE: &str = "iam";

#[derive(Debug, Clone)]
pub struct IamApi {
    client: Client,
}

impl IamApi {
    pub fn new(client: Client) -> Self {
        IamApi { client }
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986); a document that is already JSON is
/// taken as it is.
pub fn decode_document(text: &str) -> Option<serde_json::Value> {
    if let Ok(v) = serde_json::from_str(text) {
        return Some(v);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    serde_json::from_slice(&out).ok()
}

fn is_gone(code: Option<&str>) -> bool {
    code == Some("NoSuchEntity")
}

impl Roles for IamApi {
    async fn account(&self) -> Result<RoleQuota> {
        let out = self.client.get_account_summary().send().await.map_err(|e| classify(SERVICE, "GetAccountSummary", e))?;
        let map = out.summary_map();
        let read = |k: SummaryKeyType| map.and_then(|m| m.get(&k)).copied().unwrap_or_default().max(0) as u32;
        Ok(RoleQuota { used: read(SummaryKeyType::Roles), quota: read(SummaryKeyType::RolesQuota) })
    }

    async fn find(&self, name: &str) -> Result<Option<RoleObserved>> {
        let out = match self.client.get_role().role_name(name).send().await {
            Ok(out) => out,
            Err(e) if is_gone(e.code()) => return Ok(None),
            Err(e) => return Err(classify(SERVICE, "GetRole", e)),
        };
        let Some(r) = out.role() else { return Ok(None) };
        Ok(Some(RoleObserved {
            name: r.role_name().to_string(),
            arn: r.arn().to_string(),
            path: r.path().to_string(),
            boundary_arn: r.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).map(str::to_string),
            trust: r.assume_role_policy_document().and_then(decode_document),
            tags: r.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect::<BTreeMap<_, _>>(),
        }))
    }

    async fn create(&self, spec: &RoleSpec) -> Result<RoleObserved> {
        let tags: Vec<Tag> = spec.tags.iter().map(|(k, v)| built(Tag::builder().key(k).value(v).build())).collect::<Result<_>>()?;
        let out = self
            .client
            .create_role()
            .role_name(&spec.name)
            .path(&spec.path)
            .assume_role_policy_document(spec.trust.to_string())
            .permissions_boundary(&spec.boundary_arn)
            .description(&spec.description)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "CreateRole", e))?;
        let r = out.role().ok_or_else(|| BerthError::Internal(format!("CreateRole {} returned no role", spec.name)))?;
        Ok(RoleObserved {
            name: r.role_name().to_string(),
            arn: r.arn().to_string(),
            path: r.path().to_string(),
            boundary_arn: Some(spec.boundary_arn.clone()),
            trust: Some(spec.trust.clone()),
            tags: spec.tags.clone(),
        })
    }

    async fn set_trust(&self, name: &str, document: &serde_json::Value) -> Result<()> {
        self.client
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(document.to_string())
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateAssumeRolePolicy", e))?;
        Ok(())
    }

    async fn policy(&self, name: &str, policy: &str) -> Result<Option<serde_json::Value>> {
        match self.client.get_role_policy().role_name(name).policy_name(policy).send().await {
            Ok(out) => Ok(decode_document(out.policy_document())),
            Err(e) if is_gone(e.code()) => Ok(None),
            Err(e) => Err(classify(SERVICE, "GetRolePolicy", e)),
        }
    }

    async fn put_policy(&self, name: &str, policy: &str, document: &serde_json::Value) -> Result<()> {
        self.client
            .put_role_policy()
            .role_name(name)
            .policy_name(policy)
            .policy_document(document.to_string())
            .send()
            .await
            .map_err(|e| classify(SERVICE, "PutRolePolicy", e))?;
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<bool> {
        let policies = match self.client.list_role_policies().role_name(name).send().await {
            Ok(out) => out.policy_names().to_vec(),
            Err(e) if is_gone(e.code()) => return Ok(false),
            Err(e) => return Err(classify(SERVICE, "ListRolePolicies", e)),
        };
        for policy in policies {
            match self.client.delete_role_policy().role_name(name).policy_name(&policy).send().await {
                Ok(_) => {}
                Err(e) if is_gone(e.code()) => {}
                Err(e) => return Err(classify(SERVICE, "DeleteRolePolicy", e)),
            }
        }
        match self.client.delete_role().role_name(name).send().await {
            Ok(_) => Ok(true),
            Err(e) if is_gone(e.code()) => Ok(false),
            Err(e) => Err(classify(SERVICE, "DeleteRole", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode_document;
    use serde_json::json;

    #[test]
    fn documents_are_read_encoded_or_not() {
        assert_eq!(decode_document(r#"{"Version":"2012-10-17"}"#), Some(json!({"Version": "2012-10-17"})));
        assert_eq!(decode_document("%7B%22Version%22%3A%222012-10-17%22%7D"), Some(json!({"Version": "2012-10-17"})));
        assert_eq!(decode_document("%7B%22a%22%3A%22x%2Fy%22%7D"), Some(json!({"a": "x/y"})));
        assert_eq!(decode_document("%7"), None);
        assert_eq!(decode_document("not json"), None);
    }
}

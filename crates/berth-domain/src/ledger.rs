//! The resource ledger: every AWS resource a step created for a customer, recorded with its
//! ARN (or name) before the step returns, so that cleanup knows exactly what is berth's.
//! Cleanup undoes it in the reverse of the order provisioning builds it.

use serde::{Deserialize, Serialize};

/// The kinds of resource berth creates, in teardown order: DNS first (traffic stops reaching
/// the customer), log groups last (they keep what the services wrote until the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    DnsRecord,
    /// The scaler of a service's task count: removed before the service.
    ScalableTarget,
    Service,
    TaskDefinition,
    ListenerRule,
    /// A certificate berth put on the listener for the customer (its own domain's).
    ListenerCertificate,
    /// A name claimed for the customer whose records berth does not write (an own domain
    /// whose zone is not in the account's Route 53): given back, after the listener's rules
    /// and certificates; nothing is deleted on AWS.
    HostClaim,
    /// A certificate berth requested from ACM for the customer (its dotted product hosts'),
    /// scoped by the listener it serves on: taken off it, then deleted.
    Certificate,
    /// The DNS record that validates such a certificate (a CNAME in berth's zone).
    ValidationRecord,
    TargetGroup,
    /// The customer's security group (by id, scoped by its VPC): once its services are gone.
    SecurityGroup,
    /// The customer's IAM role (by name): once no task definition of the customer's is left.
    Role,
    LogGroup,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 13] = [
        ResourceKind::DnsRecord,
        ResourceKind::ScalableTarget,
        ResourceKind::Service,
        ResourceKind::TaskDefinition,
        ResourceKind::ListenerRule,
        ResourceKind::ListenerCertificate,
        ResourceKind::HostClaim,
        ResourceKind::Certificate,
        ResourceKind::ValidationRecord,
        ResourceKind::TargetGroup,
        ResourceKind::SecurityGroup,
        ResourceKind::Role,
        ResourceKind::LogGroup,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ResourceKind::DnsRecord => "dns_record",
            ResourceKind::ScalableTarget => "scalable_target",
            ResourceKind::Service => "service",
            ResourceKind::TaskDefinition => "task_definition",
            ResourceKind::ListenerRule => "listener_rule",
            ResourceKind::ListenerCertificate => "listener_certificate",
            ResourceKind::HostClaim => "host_claim",
            ResourceKind::Certificate => "certificate",
            ResourceKind::ValidationRecord => "validation_record",
            ResourceKind::TargetGroup => "target_group",
            ResourceKind::SecurityGroup => "security_group",
            ResourceKind::Role => "role",
            ResourceKind::LogGroup => "log_group",
        }
    }

    pub fn parse(s: &str) -> Option<ResourceKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One resource in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub kind: ResourceKind,
    /// The ARN; the name for log groups; the record name for DNS records.
    pub id: String,
    /// Where it lives when the id alone does not say: the cluster of a service, the
    /// listener of a rule, the hosted zone of a DNS record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The execution that created (or adopted) it.
    pub execution_id: String,
}

impl LedgerEntry {
    pub fn new(kind: ResourceKind, id: impl Into<String>, scope: Option<String>, execution_id: impl Into<String>) -> Self {
        LedgerEntry { kind, id: id.into(), scope, execution_id: execution_id.into() }
    }

    /// `kind id` for reports.
    pub fn label(&self) -> String {
        format!("{} {}", self.kind, self.id)
    }
}

/// Entries in teardown order, each once: by kind, then by id (newest revision first for
/// task definitions, whose ids end in the revision number).
pub fn teardown_order(entries: impl IntoIterator<Item = LedgerEntry>) -> Vec<LedgerEntry> {
    let mut v: Vec<LedgerEntry> = entries.into_iter().collect();
    v.sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| b.id.cmp(&a.id)));
    v.dedup_by(|a, b| a.kind == b.kind && a.id == b.id);
    v
}

/// What a resource still stands in the way of: the priorities stay held while a listener
/// rule of the customer is left, and the host while a DNS record is.
pub fn holds_priorities(leftovers: &[LedgerEntry]) -> bool {
    leftovers.iter().any(|e| e.kind == ResourceKind::ListenerRule)
}

pub fn holds_host(leftovers: &[LedgerEntry]) -> bool {
    leftovers.iter().any(|e| e.kind == ResourceKind::DnsRecord)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(kind: ResourceKind, id: &str) -> LedgerEntry {
        LedgerEntry::new(kind, id, None, "exec")
    }

    #[test]
    fn teardown_runs_in_reverse_build_order_once_each() {
        let built = vec![
            e(ResourceKind::LogGroup, "/berth/acme/api"),
            e(ResourceKind::TargetGroup, "arn:tg/api"),
            e(ResourceKind::ListenerRule, "arn:rule/1"),
            e(ResourceKind::TaskDefinition, "arn:td/berth-acme-api:1"),
            e(ResourceKind::TaskDefinition, "arn:td/berth-acme-api:2"),
            e(ResourceKind::Service, "arn:svc/api"),
            e(ResourceKind::DnsRecord, "acme.example.com"),
            e(ResourceKind::TargetGroup, "arn:tg/api"),
        ];
        let order: Vec<String> = teardown_order(built).iter().map(LedgerEntry::label).collect();
        assert_eq!(
            order,
            [
                "dns_record acme.example.com",
                "service arn:svc/api",
                "task_definition arn:td/berth-acme-api:2",
                "task_definition arn:td/berth-acme-api:1",
                "listener_rule arn:rule/1",
                "target_group arn:tg/api",
                "log_group /berth/acme/api",
            ]
        );
    }

    #[test]
    fn kinds_round_trip() {
        for k in ResourceKind::ALL {
            assert_eq!(ResourceKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).ok(), Some(serde_json::Value::String(k.as_str().to_string())));
        }
    }

    #[test]
    fn leftovers_hold_what_they_use() {
        assert!(holds_priorities(&[e(ResourceKind::ListenerRule, "r")]));
        assert!(!holds_priorities(&[e(ResourceKind::TargetGroup, "t")]));
        assert!(holds_host(&[e(ResourceKind::DnsRecord, "h")]));
        assert!(!holds_host(&[e(ResourceKind::Service, "s")]));
    }
}

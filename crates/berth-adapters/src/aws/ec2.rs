//! The customers' own security groups.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, Ipv6Range, ResourceType, Tag, TagSpecification, UserIdGroupPair};
use aws_sdk_ec2::Client;
use berth_domain::access::Permission;
use berth_domain::BerthError;

use crate::classify::classify;
use crate::model::{SecurityGroupObserved, SecurityGroupSpec};
use crate::ports::{Result, SecurityGroups};

const SERVICE: &str = "ec2";

#[derive(Debug, Clone)]
pub struct Ec2Api {
    client: Client,
}

impl Ec2Api {
    pub fn new(client: Client) -> Self {
        Ec2Api { client }
    }
}

/// EC2's rules, one peer each.
fn permissions(rules: &[IpPermission]) -> BTreeSet<Permission> {
    let mut out = BTreeSet::new();
    for r in rules {
        let protocol = r.ip_protocol().unwrap_or("-1").to_string();
        let (from_port, to_port) = if protocol == "-1" { (-1, -1) } else { (r.from_port().unwrap_or(-1), r.to_port().unwrap_or(-1)) };
        let peers = r
            .user_id_group_pairs()
            .iter()
            .filter_map(|p| p.group_id())
            .chain(r.ip_ranges().iter().filter_map(|c| c.cidr_ip()))
            .chain(r.ipv6_ranges().iter().filter_map(|c| c.cidr_ipv6()));
        for peer in peers {
            out.insert(Permission { protocol: protocol.clone(), from_port, to_port, peer: peer.to_string() });
        }
    }
    out
}

fn ip_permission(p: &Permission) -> IpPermission {
    let mut b = IpPermission::builder().ip_protocol(&p.protocol);
    if p.protocol != "-1" {
        b = b.from_port(p.from_port).to_port(p.to_port);
    }
    if p.peer_is_group() {
        b = b.user_id_group_pairs(UserIdGroupPair::builder().group_id(&p.peer).build());
    } else if p.peer.contains(':') {
        b = b.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(&p.peer).build());
    } else {
        b = b.ip_ranges(IpRange::builder().cidr_ip(&p.peer).build());
    }
    b.build()
}

fn observe(g: &aws_sdk_ec2::types::SecurityGroup) -> SecurityGroupObserved {
    SecurityGroupObserved {
        id: g.group_id().unwrap_or_default().to_string(),
        name: g.group_name().unwrap_or_default().to_string(),
        vpc_id: g.vpc_id().unwrap_or_default().to_string(),
        ingress: permissions(g.ip_permissions()),
        egress: permissions(g.ip_permissions_egress()),
        tags: g
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
            .collect::<BTreeMap<_, _>>(),
    }
}

impl Ec2Api {
    /// Adds (`grant`) or removes inbound or outbound rules. A rule already there (or already
    /// gone), as an earlier attempt left it, is what was asked for.
    async fn change(&self, group_id: &str, egress: bool, grant: bool, rules: &[Permission]) -> Result<()> {
        if rules.is_empty() {
            return Ok(());
        }
        let perms = Some(rules.iter().map(ip_permission).collect::<Vec<_>>());
        let c = &self.client;
        let sent = match (grant, egress) {
            (true, false) => c
                .authorize_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(perms)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify(SERVICE, "AuthorizeSecurityGroupIngress", e)),
            (true, true) => c
                .authorize_security_group_egress()
                .group_id(group_id)
                .set_ip_permissions(perms)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify(SERVICE, "AuthorizeSecurityGroupEgress", e)),
            (false, false) => c
                .revoke_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(perms)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify(SERVICE, "RevokeSecurityGroupIngress", e)),
            (false, true) => c
                .revoke_security_group_egress()
                .group_id(group_id)
                .set_ip_permissions(perms)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify(SERVICE, "RevokeSecurityGroupEgress", e)),
        };
        let done = if grant { "InvalidPermission.Duplicate" } else { "InvalidPermission.NotFound" };
        match sent {
            Err(BerthError::Aws { code: Some(code), .. }) if code == done => Ok(()),
            other => other,
        }
    }
}

impl SecurityGroups for Ec2Api {
    async fn find(&self, vpc_id: &str, name: &str) -> Result<Option<SecurityGroupObserved>> {
        let out = self
            .client
            .describe_security_groups()
            .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
            .filters(Filter::builder().name("group-name").values(name).build())
            .send()
            .await
            .map_err(|e| classify(SERVICE, "DescribeSecurityGroups", e))?;
        Ok(out.security_groups().iter().find(|g| g.group_name() == Some(name) && g.vpc_id() == Some(vpc_id)).map(observe))
    }

    async fn create(&self, spec: &SecurityGroupSpec) -> Result<SecurityGroupObserved> {
        let tags: Vec<Tag> = spec.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        let out = self
            .client
            .create_security_group()
            .group_name(&spec.name)
            .description(&spec.description)
            .vpc_id(&spec.vpc_id)
            .tag_specifications(TagSpecification::builder().resource_type(ResourceType::SecurityGroup).set_tags(Some(tags)).build())
            .send()
            .await
            .map_err(|e| classify(SERVICE, "CreateSecurityGroup", e))?;
        let id = out.group_id().ok_or_else(|| BerthError::Internal(format!("CreateSecurityGroup {} returned no id", spec.name)))?;
        // A new group allows all outbound IPv4 traffic and nothing inbound.
        Ok(SecurityGroupObserved {
            id: id.to_string(),
            name: spec.name.clone(),
            vpc_id: spec.vpc_id.clone(),
            ingress: BTreeSet::new(),
            egress: BTreeSet::from([Permission::all_to("0.0.0.0/0")]),
            tags: spec.tags.clone(),
        })
    }

    async fn authorize(&self, group_id: &str, egress: bool, rules: &[Permission]) -> Result<()> {
        self.change(group_id, egress, true, rules).await
    }

    async fn revoke(&self, group_id: &str, egress: bool, rules: &[Permission]) -> Result<()> {
        self.change(group_id, egress, false, rules).await
    }

    async fn delete(&self, group_id: &str) -> Result<bool> {
        match self.client.delete_security_group().group_id(group_id).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("InvalidGroup.NotFound") => Ok(false),
            // The network interfaces of the customer's stopped tasks are released a little
            // after their service is deleted.
            Err(e) if e.code() == Some("DependencyViolation") => {
                Err(BerthError::Transient(format!("security group {group_id} is still in use by a network interface")))
            }
            Err(e) => Err(classify(SERVICE, "DeleteSecurityGroup", e)),
        }
    }
}

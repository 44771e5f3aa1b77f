//! The plan: everything berth will create for one customer, every name computed. The
//! validate step builds it; every later step reads it from the execution state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::access::{self, Access};
use crate::catalog::MAX_DESIRED_COUNT;
use crate::error::Violations;
use crate::naming::{self, HostForm};
use crate::validate::{self, DISPLAY_NAME_MAX, ENV_VALUE_MAX, ENV_VARS_MAX, LOG_RETENTION_DAYS};

/// A listener rule's condition values, hosts and paths together.
pub const MAX_CONDITION_VALUES: usize = 5;
/// Execution ARNs are at most 2,048 characters.
pub const EXECUTION_ID_MAX: usize = 2048;
/// Images, health check paths and path patterns: generous bounds on what ECS and ELB take.
const IMAGE_MAX: usize = 1024;
const PATH_MAX: usize = 1024;
const PATH_PATTERN_MAX: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub customer_id: String,
    pub display_name: String,
    /// `{customer_id}.{domain}`.
    pub host: String,
    /// The Step Functions execution that owns this provisioning run.
    pub execution_id: String,
    /// The request's idempotency key.
    pub idempotency_key: String,
    pub products: Vec<String>,
    /// The catalog's tier the sizes come from (none: a catalog without tiers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// In catalog order.
    pub services: Vec<ServicePlan>,
    /// Listener rules in [`order_rules`]'s order: rule `i` gets the `i`-th lowest priority.
    pub rules: Vec<RulePlan>,
    pub health: HealthPolicy,
    /// The customer's own domain: its hostname is in the rules of the customer's host, its
    /// certificate on the listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_domain: Option<OwnDomain>,
    /// Only on the plan an update's reshape works to (the union of the recorded and the
    /// desired plan), when the update changes the customer's own domain: the one it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_change: Option<DomainChange>,
    /// The certificate berth requests for the customer's products on hosts of their own
    /// when they are two labels deep (`*.{customer}.{domain}`, the dotted host form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_certificate: Option<String>,
    /// What the customer's code may reach of its data (its products' catalog entries).
    #[serde(default, skip_serializing_if = "Access::is_empty")]
    pub access: Access,
    /// The customer's own IAM role (task and task execution role), under `role_path`.
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub role_path: String,
    /// The customer's own security group, in the cluster's VPC.
    #[serde(default)]
    pub security_group: String,
    /// Tags on every resource berth creates for the customer.
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePlan {
    /// The catalog's service name (also the container name).
    pub name: String,
    pub product: String,
    pub log_group: String,
    pub log_retention_days: i32,
    pub target_group: Option<TargetGroupPlan>,
    pub task_family: String,
    pub image: String,
    pub cpu: u32,
    pub memory: u32,
    pub port: Option<u16>,
    /// Plain variables (catalog, then request, then berth's own `BERTH_*`).
    pub environment: BTreeMap<String, String>,
    /// Variable name to secret ARN, injected by ECS at start; never a value.
    pub secrets: BTreeMap<String, String>,
    pub ecs_service: String,
    pub desired_count: u32,
    /// The scaler's bounds and target on the service's task count (none: a fixed count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<ScalingPlan>,
    /// CreateService client token for this execution.
    pub client_token: String,
}

impl ServicePlan {
    fn check(&self, f: &str, v: &mut Violations) {
        if !naming::is_slug(&self.name) || self.name.len() > naming::DNS_LABEL_MAX {
            v.push(format!("{f}.name"), "must be a slug of at most 63 characters");
        }
        if !naming::is_slug(&self.product) || self.product.len() > naming::DNS_LABEL_MAX {
            v.push(format!("{f}.product"), "must be a slug of at most 63 characters");
        }
        if !naming::is_log_group_name(&self.log_group) {
            v.push(format!("{f}.log_group"), "must be a log group name: 1-512 of letters, digits and _-/.#");
        }
        if !LOG_RETENTION_DAYS.contains(&self.log_retention_days) {
            v.push(format!("{f}.log_retention_days"), format!("must be one of {LOG_RETENTION_DAYS:?}"));
        }
        if let Some(tg) = &self.target_group {
            if !naming::is_target_group_name(&tg.name) {
                v.push(format!("{f}.target_group.name"), "must be 1-32 letters, digits and hyphens, no hyphen at either end");
            }
            if !tg.health_check_path.starts_with('/')
                || !naming::is_plain_text(&tg.health_check_path, PATH_MAX)
                || tg.health_check_path.contains(' ')
            {
                v.push(format!("{f}.target_group.health_check_path"), format!("must be a path of at most {PATH_MAX} characters"));
            }
            if self.port != Some(tg.port) || tg.port == 0 {
                v.push(format!("{f}.port"), "must be the target group's port (1-65535)");
            }
        }
        for (field, name) in [("task_family", &self.task_family), ("ecs_service", &self.ecs_service)] {
            if !naming::is_ecs_name(name) {
                v.push(format!("{f}.{field}"), "must be 1-255 letters, digits, hyphens and underscores");
            }
        }
        if self.image.is_empty() || !naming::is_plain_text(&self.image, IMAGE_MAX) || self.image.contains(char::is_whitespace) {
            v.push(format!("{f}.image"), format!("must be an image reference of at most {IMAGE_MAX} characters, no spaces"));
        }
        if !naming::is_fargate_size(self.cpu, self.memory) {
            v.push(format!("{f}.cpu"), format!("cpu {} with memory {} MiB is not a Fargate task size", self.cpu, self.memory));
        }
        if self.desired_count > MAX_DESIRED_COUNT {
            v.push(format!("{f}.desired_count"), format!("must be 0-{MAX_DESIRED_COUNT}"));
        }
        if let Some(a) = &self.autoscaling {
            if a.min == 0 || a.min > a.max || a.max > MAX_DESIRED_COUNT || !(a.min..=a.max).contains(&self.desired_count) {
                v.push(format!("{f}.autoscaling"), format!("1 <= min <= desired_count <= max <= {MAX_DESIRED_COUNT}"));
            }
            if !crate::catalog::CPU_TARGETS.contains(&a.cpu_target) {
                v.push(format!("{f}.autoscaling.cpu_target"), "must be 10-90 (percent)");
            }
            if a.policy_name != format!("{}-cpu", self.ecs_service) {
                v.push(format!("{f}.autoscaling.policy_name"), "must be the service's name and -cpu");
            }
        }
        if self.environment.len() + self.secrets.len() > ENV_VARS_MAX {
            v.push(format!("{f}.environment"), format!("at most {ENV_VARS_MAX} variables and secrets"));
        }
        for (k, val) in &self.environment {
            if !naming::is_env_name(k) {
                v.push(format!("{f}.environment"), "a variable name is not [A-Za-z_][A-Za-z0-9_]*");
            } else if val.len() > ENV_VALUE_MAX {
                v.push(format!("{f}.environment.{k}"), format!("value longer than {ENV_VALUE_MAX} bytes"));
            } else if naming::carries_credentials(val) {
                v.push(format!("{f}.environment.{k}"), "the value carries credentials: pass it under secrets (the value is not shown)");
            }
        }
        for (k, arn) in &self.secrets {
            if !naming::is_env_name(k) {
                v.push(format!("{f}.secrets"), "a variable name is not [A-Za-z_][A-Za-z0-9_]*");
            } else if !naming::is_secret_arn(arn) {
                v.push(
                    format!("{f}.secrets.{k}"),
                    "must be the ARN of a Secrets Manager secret or an SSM parameter (the value is not shown)",
                );
            }
        }
        let token_ok = !self.client_token.is_empty()
            && self.client_token.len() <= naming::CLIENT_TOKEN_MAX
            && self.client_token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !token_ok {
            v.push(format!("{f}.client_token"), format!("must be 1-{} letters, digits, '-' and '_'", naming::CLIENT_TOKEN_MAX));
        }
    }
}

/// Target tracking of a service's average CPU, its task count between `min` and `max`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalingPlan {
    pub min: u32,
    pub max: u32,
    pub cpu_target: u32,
    /// The target-tracking policy's name: `{ecs_service}-cpu`.
    pub policy_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroupPlan {
    pub name: String,
    pub port: u16,
    pub health_check_path: String,
}

/// A customer's own hostname and the ACM certificate for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnDomain {
    pub hostname: String,
    pub certificate_arn: String,
}

/// An update's change of the customer's own domain: the plan's `own_domain` is the new one
/// (none: the update takes it away), `was` the one it replaces (none: the update adds one).
/// Until the update is done both are the customer's: both hostnames claimed, both
/// certificates on the listener and counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainChange {
    pub was: Option<OwnDomain>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulePlan {
    /// The service whose target group the rule forwards to.
    pub service: String,
    pub host: String,
    /// Further hosts the rule matches: the customer's own domain, on the rules of the
    /// customer's host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
    /// Empty: the rule takes every path on the host.
    pub path_patterns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthPolicy {
    pub interval_seconds: u32,
    pub max_attempts: u32,
}

impl Plan {
    /// The customer's URL: HTTPS at its host (at its first product's own host when nothing
    /// is served at the customer's).
    pub fn url(&self) -> String {
        format!("https://{}", self.hosts().first().unwrap_or(&self.host))
    }

    /// The domain the customer's host is under.
    pub fn domain(&self) -> &str {
        self.host.strip_prefix(self.customer_id.as_str()).and_then(|d| d.strip_prefix('.')).unwrap_or_default()
    }

    /// True when a rule of one of `product`'s services may match `host`: the customer's
    /// host, or the product's own in either form.
    fn host_ok(&self, host: &str, product: &str) -> bool {
        host == self.host || HostForm::ALL.iter().any(|f| host == f.product_host(product, &self.customer_id, self.domain()))
    }

    /// Every host the customer is served at, each claimed and given its DNS records: its
    /// own when a rule matches it (or the plan has no rule), then each product's own host, in
    /// the order of the rules. (The customer's own host is claimed either way.)
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts = Vec::new();
        if self.rules.is_empty() || self.rules.iter().any(|r| r.host == self.host) {
            hosts.push(self.host.clone());
        }
        for r in &self.rules {
            if !hosts.contains(&r.host) {
                hosts.push(r.host.clone());
            }
        }
        hosts
    }

    /// The listener certificates the customer needs beyond the deployment's, given by ARN:
    /// its own domain's (while an update changes it, the one it replaces too; one certificate
    /// that serves both counts once).
    pub fn certificate_arns(&self) -> Vec<String> {
        let mut arns: Vec<String> = self.own_domain.iter().map(|d| d.certificate_arn.clone()).collect();
        if let Some(was) = self.replaced_domain() {
            if !arns.contains(&was.certificate_arn) {
                arns.push(was.certificate_arn.clone());
            }
        }
        arns
    }

    /// How many of its ALB's certificates the customer takes: its own domain's, and the one
    /// berth requests for its dotted product hosts.
    pub fn certificate_count(&self) -> u32 {
        (self.certificate_arns().len() as u32) + (self.customer_certificate.is_some() as u32)
    }

    /// The own domain an update replaces or takes away (none when it keeps it, or adds one).
    pub fn replaced_domain(&self) -> Option<&OwnDomain> {
        self.domain_change.as_ref().and_then(|c| c.was.as_ref())
    }

    /// Every host a rule of the customer matches (its hosts, and its own domain; while an
    /// update changes that, the one it replaces too).
    pub fn rule_hosts(&self) -> Vec<String> {
        let mut hosts = self.hosts();
        hosts.extend(self.own_domain.iter().chain(self.replaced_domain()).map(|d| d.hostname.clone()));
        hosts
    }

    /// The hosts of the customer's products on hosts of their own.
    pub fn product_hosts(&self) -> Vec<String> {
        self.hosts().into_iter().filter(|h| *h != self.host).collect()
    }

    /// Each product's URL: HTTPS at its own host, or at the customer's.
    pub fn urls(&self) -> BTreeMap<String, String> {
        self.products
            .iter()
            .map(|p| {
                let host = self.services.iter().filter(|s| &s.product == p).map(|s| self.host_of(&s.name)).find(|h| *h != self.host);
                (p.clone(), format!("https://{}", host.unwrap_or(&self.host)))
            })
            .collect()
    }

    /// The host a service's rule matches (the customer's for a service without a rule).
    pub fn host_of(&self, service: &str) -> &str {
        self.rules.iter().find(|r| r.service == service).map_or(self.host.as_str(), |r| r.host.as_str())
    }

    pub fn service(&self, name: &str) -> Option<&ServicePlan> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The customer's role and security group: names AWS takes, a policy within IAM's size,
    /// ports within a group's inbound rules. (A plan from before berth made them names none.)
    pub(crate) fn check_isolation(&self, v: &mut Violations) {
        let role_chars = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        if !self.role.is_empty() && (self.role.len() > access::ROLE_NAME_MAX || !role_chars(&self.role)) {
            v.push("plan.role", format!("an IAM role name: 1-{} of letters, digits and +=,.@_-", access::ROLE_NAME_MAX));
        }
        let path_ok = self.role_path.starts_with('/')
            && self.role_path.ends_with('/')
            && self.role_path.len() <= 512
            && self.role_path.bytes().all(|b| b == b'/' || b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        if self.role.is_empty() != self.role_path.is_empty() || (!self.role_path.is_empty() && !path_ok) {
            v.push("plan.role_path", "an IAM path (/name/), given with the role");
        }
        if self.security_group.len() > access::SECURITY_GROUP_NAME_MAX
            || self.security_group.starts_with("sg-")
            || !self.security_group.bytes().all(|b| b.is_ascii_graphic())
        {
            v.push("plan.security_group", "a security group name: up to 255 printable ASCII characters, not starting with sg-");
        }
        if !self.role.is_empty() {
            let size = access::policy_size(&access::role_policy(self, &access::Account::widest()));
            if size > access::ROLE_POLICY_SIZE_MAX {
                v.push(
                    "plan.services",
                    format!(
                        "the customer's role policy would take {size} of IAM's {} characters: fewer secret references",
                        access::ROLE_POLICY_SIZE_MAX
                    ),
                );
            }
        }
        let ports = access::ingress(self, "sg-0").len();
        if ports > access::INGRESS_RULES_MAX {
            v.push("plan.services", format!("{ports} service ports, past a security group's {} inbound rules", access::INGRESS_RULES_MAX));
        }
    }

    /// The rules every plan meets. validate builds plans that meet them; a step that is
    /// handed a plan (by the state machine, a console execution or `cargo lambda invoke`)
    /// checks it before it touches anything, so a plan written by hand cannot carry a name
    /// AWS would refuse, or that is not the customer's.
    pub fn check(&self) -> Violations {
        let mut v = Violations::default();
        let mut id = Violations::default();
        validate::check_customer_id(&self.customer_id, &mut id);
        for violation in id.iter() {
            v.push("plan.customer_id", violation.rule.clone());
        }
        let host_ok =
            naming::is_domain(&self.host) && self.host.strip_prefix(self.customer_id.as_str()).is_some_and(|rest| rest.starts_with('.'));
        if !host_ok {
            v.push("plan.host", "must be a DNS name under the customer's id: {customer_id}.{domain}");
        }
        if self.execution_id.is_empty() || !naming::is_plain_text(&self.execution_id, EXECUTION_ID_MAX) || self.execution_id.contains(' ') {
            v.push(
                "plan.execution_id",
                format!("must be an execution ARN: 1-{EXECUTION_ID_MAX} characters, no spaces or control characters"),
            );
        }
        if !naming::is_idempotency_key(&self.idempotency_key) {
            v.push("plan.idempotency_key", format!("must be 1-{} letters, digits, '-' and '_'", naming::IDEMPOTENCY_KEY_MAX));
        }
        if self.display_name.trim().is_empty() || !naming::is_plain_text(&self.display_name, DISPLAY_NAME_MAX) {
            v.push("plan.display_name", format!("must be 1-{DISPLAY_NAME_MAX} characters with no control characters"));
        }
        if self.services.is_empty() {
            v.push("plan.services", "the plan has no service");
        }
        for (i, s) in self.services.iter().enumerate() {
            s.check(&format!("plan.services[{i}]"), &mut v);
        }
        for (i, r) in self.rules.iter().enumerate() {
            let f = format!("plan.rules[{i}]");
            if !self.services.iter().any(|s| s.name == r.service && s.target_group.is_some()) {
                v.push(format!("{f}.service"), "must name a service of the plan that has a target group");
            }
            if !self.service(&r.service).is_some_and(|s| self.host_ok(&r.host, &s.product)) {
                v.push(
                    format!("{f}.host"),
                    "must be the plan's host, or its service's product's own host ({product}-{customer}.{domain} or {product}.{customer}.{domain})",
                );
            }
            // While an update changes the own domain, a rule still has the one it replaces.
            let on_host =
                |d: Option<&OwnDomain>| d.filter(|_| r.host == self.host).map(|d| d.hostname.clone()).into_iter().collect::<Vec<_>>();
            if r.also != on_host(self.own_domain.as_ref()) && (self.domain_change.is_none() || r.also != on_host(self.replaced_domain())) {
                v.push(format!("{f}.also"), "must be the customer's own domain on the rules of its host, and nothing else");
            }
            if 1 + r.also.len() + r.path_patterns.len() > MAX_CONDITION_VALUES {
                v.push(format!("{f}.path_patterns"), format!("a rule holds {MAX_CONDITION_VALUES} condition values: its hosts and paths"));
            }
            if r.path_patterns.len() > 4
                || r.path_patterns.iter().any(|p| p.is_empty() || !naming::is_plain_text(p, PATH_PATTERN_MAX) || p.contains(' '))
            {
                v.push(
                    format!("{f}.path_patterns"),
                    format!("at most 4 patterns of 1-{PATH_PATTERN_MAX} characters, no spaces or control characters"),
                );
            }
        }
        if let Some(c) = &self.customer_certificate {
            let dotted = self.product_hosts().iter().all(|h| h.ends_with(&format!(".{}", self.host)));
            if *c != format!("*.{}", self.host) || self.product_hosts().is_empty() || !dotted {
                v.push("plan.customer_certificate", "must be *.{customer}.{domain}, for products on dotted hosts of their own");
            }
        }
        if let Some(d) = &self.own_domain {
            let mut dv = Violations::default();
            validate::check_own_domain(&d.hostname, &d.certificate_arn, self.domain(), "plan.own_domain", &mut dv);
            v.0.extend(dv.0);
        }
        if let Some(change) = &self.domain_change {
            if let Some(was) = &change.was {
                let mut dv = Violations::default();
                validate::check_own_domain(&was.hostname, &was.certificate_arn, self.domain(), "plan.domain_change.was", &mut dv);
                v.0.extend(dv.0);
            }
            if change.was == self.own_domain {
                v.push("plan.domain_change.was", "must differ from the plan's own domain: it is the one the update replaces");
            }
        }
        for (field, rule) in self.access.violations() {
            v.push(format!("plan.{field}"), rule);
        }
        self.check_isolation(&mut v);
        let mut health = Violations::default();
        validate::check_health(&self.health, "plan.health", &mut health);
        v.0.extend(health.0);
        if self.tags.get(naming::TAG_CUSTOMER) != Some(&self.customer_id)
            || self.tags.get(naming::TAG_MANAGED_BY).map(String::as_str) != Some(naming::MANAGED_BY_VALUE)
        {
            v.push("plan.tags", format!("must tag the customer ({}) and berth ({})", naming::TAG_CUSTOMER, naming::TAG_MANAGED_BY));
        }
        if self.tags.len() > 40
            || self
                .tags
                .iter()
                .any(|(k, val)| k.is_empty() || !naming::is_plain_text(k, 128) || !naming::is_plain_text(val, naming::TAG_VALUE_MAX))
        {
            v.push("plan.tags", format!("at most 40 tags, keys of 1-128 and values of at most {} characters", naming::TAG_VALUE_MAX));
        }
        v
    }

    /// What the customer's listener holds while an update adds or removes products: this
    /// (the desired) plan's services and rules, with `recorded`'s services that this plan
    /// drops still in it. Rules stay in [`order_rules`]'s order, which each plan's own rules
    /// keep within the union: removing either side's rules leaves a listener whose order is
    /// right without moving a rule.
    pub fn union(&self, recorded: &Plan) -> Plan {
        let mut u = self.clone();
        for s in &recorded.services {
            if self.service(&s.name).is_none() {
                u.services.push(s.clone());
            }
        }
        for p in &recorded.products {
            if !u.products.contains(p) {
                u.products.push(p.clone());
            }
        }
        u.rules.extend(recorded.rules.iter().filter(|r| self.service(&r.service).is_none()).cloned());
        u.customer_certificate = self.customer_certificate.clone().or_else(|| recorded.customer_certificate.clone());
        // A changed own domain: until the update is done, the one it replaces is the
        // customer's too (the rules of services it removes still match it).
        if self.own_domain != recorded.own_domain {
            u.domain_change = Some(DomainChange { was: recorded.own_domain.clone() });
        }
        u.access = self.access.union(&recorded.access);
        for (mine, theirs) in
            [(&mut u.role, &recorded.role), (&mut u.role_path, &recorded.role_path), (&mut u.security_group, &recorded.security_group)]
        {
            if mine.is_empty() {
                mine.clone_from(theirs);
            }
        }
        order_rules(&mut u.rules, &self.host);
        u
    }

    /// The services of this plan that `other` does not have, by name.
    pub fn services_not_in(&self, other: &Plan) -> Vec<String> {
        self.services.iter().filter(|s| other.service(&s.name).is_none()).map(|s| s.name.clone()).collect()
    }

    /// The target groups the plan's services take.
    pub fn target_group_count(&self) -> u32 {
        self.services.iter().filter(|s| s.target_group.is_some()).count() as u32
    }

    /// The tags as (key, value) pairs, for the SDK builders.
    pub fn tag_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The order of a customer's rules, whose priorities ascend along it: the rules of the
/// customer's own host first, then each product host's, by name; on a host, the rules with
/// paths before the one that takes the rest of the host; then by service. Only rules of one
/// host can match the same request, so on a host the specific rules win. The order depends on
/// the rules alone, not on how a request lists its products: any two plans order their
/// common rules alike, so an update's union of two plans keeps each one's order.
pub fn order_rules(rules: &mut [RulePlan], customer_host: &str) {
    rules.sort_by(|a, b| {
        let key = |r: &RulePlan| (r.host != customer_host, r.host.clone(), r.path_patterns.is_empty(), r.service.clone());
        key(a).cmp(&key(b))
    });
}

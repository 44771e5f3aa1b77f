//! Validation: a request and the catalog in, a [`Plan`] or every broken rule out.

use std::collections::{BTreeMap, BTreeSet};

use crate::access;
use crate::catalog::Catalog;
use crate::catalog::ProductHost;
use crate::error::Violations;
use crate::naming::{self, HostForm};
use crate::plan::{HealthPolicy, OwnDomain, Plan, RulePlan, ServicePlan, TargetGroupPlan, MAX_CONDITION_VALUES};
use crate::request::OnboardingRequest;

/// Customer ids that would shadow a host the SaaS itself uses.
pub const RESERVED_CUSTOMER_IDS: &[&str] = &[
    "www",
    "api",
    "admin",
    "app",
    "apps",
    "portal",
    "dashboard",
    "console",
    "status",
    "docs",
    "help",
    "support",
    "blog",
    "mail",
    "smtp",
    "imap",
    "pop",
    "ftp",
    "ns",
    "ns1",
    "ns2",
    "dns",
    "cdn",
    "static",
    "assets",
    "media",
    "auth",
    "login",
    "sso",
    "oauth",
    "id",
    "account",
    "accounts",
    "billing",
    "pay",
    "payments",
    "internal",
    "intranet",
    "vpn",
    "dev",
    "staging",
    "stage",
    "test",
    "qa",
    "prod",
    "production",
    "demo",
    "sandbox",
    "berth",
    "root",
    "localhost",
    "wildcard",
    "default",
    "autodiscover",
    "webmail",
];

/// Environment prefixes kept for the platform.
pub const RESERVED_ENV_PREFIXES: &[&str] = &["AWS_", "ECS_", "BERTH_"];
/// Variable names that look like they carry a secret: those go in `secrets`, as ARNs.
pub const SECRET_LIKE_NAMES: &[&str] = &["PASSWORD", "PASSWD", "SECRET", "TOKEN", "PRIVATE_KEY", "API_KEY", "ACCESS_KEY", "CREDENTIAL"];

pub const CUSTOMER_ID_MIN: usize = 3;
pub const CUSTOMER_ID_MAX: usize = 40;
pub const DISPLAY_NAME_MAX: usize = 100;
pub const ENV_VALUE_MAX: usize = 4096;
pub const ENV_VARS_MAX: usize = 100;
pub const HEALTH_INTERVAL_MAX: u32 = 300;
pub const HEALTH_ATTEMPTS_MAX: u32 = 1000;

/// CloudWatch Logs accepts only these retention periods (days).
pub const LOG_RETENTION_DAYS: &[i32] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// The deployment's settings validation needs (from the validate Lambda's configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Customers live at `{customer_id}.{domain}`.
    pub domain: String,
    /// Image registry (`123456789012.dkr.ecr.us-east-1.amazonaws.com`).
    pub image_registry: String,
    pub log_retention_days: i32,
    pub health: HealthPolicy,
    /// The prefix of every name berth gives a target group, ECS service, task definition
    /// family and log group (`BERTH_NAME_PREFIX`), so that they cannot meet other workloads'
    /// names in a shared account.
    pub name_prefix: String,
    /// How a product on a host of its own is named (`BERTH_PRODUCT_HOST_FORM`).
    pub product_host_form: HostForm,
}

impl Settings {
    /// Checks the deployment settings themselves.
    pub fn check(&self) -> Violations {
        let mut v = Violations::default();
        if !naming::is_domain(&self.domain) {
            v.push("BERTH_DOMAIN", "must be a lowercase DNS domain with at least two labels");
        }
        if self.image_registry.is_empty() || self.image_registry.contains(char::is_whitespace) || self.image_registry.ends_with('/') {
            v.push("BERTH_IMAGE_REGISTRY", "must be a registry host (and optional path) without a trailing '/'");
        }
        if !LOG_RETENTION_DAYS.contains(&self.log_retention_days) {
            v.push("BERTH_LOG_RETENTION_DAYS", format!("must be one of {LOG_RETENTION_DAYS:?}"));
        }
        check_health(&self.health, "BERTH_HEALTH", &mut v);
        if !naming::is_name_prefix(&self.name_prefix) {
            v.push(
                "BERTH_NAME_PREFIX",
                format!("must be 1-{} lowercase letters, digits and single hyphens, starting with a letter", naming::NAME_PREFIX_MAX),
            );
        }
        v
    }
}

pub(crate) fn check_health(h: &HealthPolicy, field: &str, v: &mut Violations) {
    if h.interval_seconds > HEALTH_INTERVAL_MAX {
        v.push(format!("{field}.interval_seconds"), format!("must be 0-{HEALTH_INTERVAL_MAX}"));
    }
    if h.max_attempts == 0 || h.max_attempts > HEALTH_ATTEMPTS_MAX {
        v.push(format!("{field}.max_attempts"), format!("must be 1-{HEALTH_ATTEMPTS_MAX}"));
    }
}

/// Validates `request` against `catalog` and builds the plan for `execution_id`. Every
/// broken rule is reported, each naming its field.
pub fn validate(request: &OnboardingRequest, catalog: &Catalog, settings: &Settings, execution_id: &str) -> Result<Plan, Violations> {
    let mut v = Violations::default();
    let customer = request.customer_id.as_str();
    check_customer_id(customer, &mut v);
    if !naming::is_idempotency_key(&request.idempotency_key) {
        v.push("idempotency_key", format!("must be 1-{} characters of letters, digits, '-' and '_'", naming::IDEMPOTENCY_KEY_MAX));
    }

    let display_name = request.display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > DISPLAY_NAME_MAX || display_name.chars().any(char::is_control) {
        v.push("display_name", format!("must be 1-{DISPLAY_NAME_MAX} characters with no control characters"));
    }

    let host = naming::host(customer, &settings.domain);
    if host.len() > naming::DNS_NAME_MAX {
        v.push("customer_id", format!("the host would exceed {} characters", naming::DNS_NAME_MAX));
    }

    // The tier: which products, how big, how far a request may go.
    let tier = match catalog.tier(request.tier.as_deref()) {
        Ok(t) => t,
        Err(rule) => {
            v.push("tier", rule);
            None
        }
    };
    let tier_name = tier.map(|(n, _)| n);
    let tier = tier.map(|(_, t)| t);

    // Products and the services they bring.
    if request.products.is_empty() {
        v.push("products", format!("name at least one product (the catalog's default is '{}')", catalog.default_product));
    }
    let mut seen_products = BTreeSet::new();
    let mut selected: Vec<(&str, &str, &crate::catalog::ServiceSpec)> = Vec::new();
    for (i, p) in request.products.iter().enumerate() {
        if !seen_products.insert(p.as_str()) {
            v.push(format!("products[{i}]"), format!("'{p}' is listed twice"));
            continue;
        }
        match catalog.products.get(p) {
            None => v.push(
                format!("products[{i}]"),
                format!("unknown product '{p}' (known: {})", catalog.products.keys().cloned().collect::<Vec<_>>().join(", ")),
            ),
            Some(_) if tier.is_some_and(|t| !t.products.contains(p)) => v.push(
                format!("products[{i}]"),
                format!(
                    "'{p}' is not in the {} tier (it allows: {})",
                    tier_name.unwrap_or_default(),
                    tier.map(|t| t.products.join(", ")).unwrap_or_default()
                ),
            ),
            Some(product) => {
                for (sname, spec) in &product.services {
                    selected.push((p.as_str(), sname.as_str(), spec));
                }
            }
        }
    }
    // Each product's host: the customer's, or one of its own.
    let form = settings.product_host_form;
    let mut product_hosts: BTreeMap<&str, String> = BTreeMap::new();
    for (i, p) in request.products.iter().enumerate() {
        let Some(product) = catalog.products.get(p) else { continue };
        if product.host == ProductHost::Own {
            let own = form.product_host(p, customer, &settings.domain);
            if own.split('.').any(|l| l.len() > naming::DNS_LABEL_MAX) || own.len() > naming::DNS_NAME_MAX {
                v.push(
                    format!("products[{i}]"),
                    format!(
                        "'{p}' is served at {} for this customer, past DNS's 63 characters a label (253 a name): a shorter customer id",
                        naming::truncate(&own, 80)
                    ),
                );
            }
            product_hosts.insert(p.as_str(), own);
        } else {
            product_hosts.insert(p.as_str(), host.clone());
        }
    }
    // Dashed product hosts are one label under the domain, like customers' hosts: no
    // customer id may be another customer's product host.
    if form == HostForm::Dashed {
        for (p, _) in catalog.products.iter().filter(|(_, prod)| prod.host == ProductHost::Own) {
            if customer.starts_with(&format!("{p}-")) {
                v.push(
                    "customer_id",
                    format!("must not start with '{p}-': the {p} product is served at {p}-{{customer}}.{}", settings.domain),
                );
            }
        }
    }
    let mut catch_alls: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (p, n, spec) in &selected {
        if spec.is_catch_all() {
            catch_alls.entry(product_hosts.get(p).map_or("", String::as_str)).or_default().push(n);
        }
    }
    for (h, names) in catch_alls.iter().filter(|(_, n)| n.len() > 1) {
        v.push("products", format!("services {names:?} would each take the whole of {h}: choose products with at most one"));
    }

    for name in request.services.keys() {
        if !selected.iter().any(|(_, s, _)| s == name) {
            v.push(format!("services.{name}"), "not a service of the requested products");
        }
    }

    check_env(&request.environment, &request.secrets, "", &mut v);
    check_own_secrets(&request.secrets, customer, "", &mut v);

    let mut services = Vec::new();
    for (product, name, spec) in &selected {
        let f = format!("services.{name}");
        let Some(sreq) = request.services.get(*name) else {
            v.push(&f, "missing: every service of the requested products needs an image_tag");
            continue;
        };
        if !naming::is_image_reference(&sreq.image_tag) {
            v.push(format!("{f}.image_tag"), "must be an image tag ([A-Za-z0-9_][A-Za-z0-9_.-], at most 128) or a sha256: digest");
        } else if sreq.image_tag == "latest" {
            v.push(format!("{f}.image_tag"), "'latest' is mutable: pin a version or a digest");
        }
        let z = Catalog::sizing(tier, name, spec);
        // The bound a request may not pass: its tier's, or without tiers AWS's own.
        let within = |field: &str, asked: Option<u32>, max: u32, v: &mut Violations| {
            if asked.is_some_and(|n| n > max) {
                let whose = tier_name.map_or_else(|| "Fargate's limit".to_string(), |t| format!("the {t} tier's bound"));
                v.push(format!("{f}.{field}"), format!("at most {max}: {whose}"));
            }
        };
        within("desired_count", sreq.desired_count, z.max_desired_count, &mut v);
        within("cpu", sreq.cpu, z.max_cpu, &mut v);
        within("memory", sreq.memory, z.max_memory, &mut v);
        let tier_label = tier_name.unwrap_or("catalog's");
        let autoscaling = match (z.autoscaling, sreq.autoscaling) {
            (None, None) => None,
            (None, Some(_)) => {
                v.push(format!("{f}.autoscaling"), format!("the {tier_label} tier does not scale {name}"));
                None
            }
            (Some(a), narrowed) => {
                let min = narrowed.and_then(|n| n.min).unwrap_or(a.min);
                let max = narrowed.and_then(|n| n.max).unwrap_or(a.max);
                if min == 0 || min > max || max > z.max_desired_count {
                    v.push(
                        format!("{f}.autoscaling"),
                        format!("1 <= min <= max <= {}: the {tier_label} tier's bound (min {min}, max {max} asked)", z.max_desired_count),
                    );
                }
                Some(crate::plan::ScalingPlan {
                    min,
                    max,
                    cpu_target: a.cpu_target,
                    policy_name: format!("{}-cpu", naming::ecs_service_name(&settings.name_prefix, customer, name)),
                })
            }
        };
        // A scaled service starts within its bounds; a count asked for must be within them.
        let desired = match (&autoscaling, sreq.desired_count) {
            (Some(a), Some(n)) if !(a.min..=a.max).contains(&n) => {
                v.push(format!("{f}.desired_count"), format!("from {} to {} while the {tier_label} tier scales {name}", a.min, a.max));
                n
            }
            (Some(a), None) => z.desired_count.clamp(a.min, a.max.max(a.min)),
            (_, n) => n.unwrap_or(z.desired_count),
        };
        let cpu = sreq.cpu.unwrap_or(z.cpu);
        let memory = sreq.memory.unwrap_or(z.memory);
        if !naming::is_fargate_size(cpu, memory) {
            v.push(format!("{f}.cpu"), format!("cpu {cpu} with memory {memory} MiB is not a Fargate task size"));
        }
        check_env(&sreq.environment, &sreq.secrets, &format!("{f}."), &mut v);
        check_own_secrets(&sreq.secrets, customer, &format!("{f}."), &mut v);

        let mut environment = spec.environment.clone();
        environment.extend(request.environment.clone());
        environment.extend(sreq.environment.clone());
        environment.insert("BERTH_CUSTOMER_ID".into(), customer.to_string());
        environment.insert("BERTH_CUSTOMER_NAME".into(), display_name.to_string());
        let service_host = product_hosts.get(product).cloned().unwrap_or_else(|| host.clone());
        environment.insert("BERTH_HOST".into(), service_host);
        environment.insert("BERTH_SERVICE".into(), name.to_string());
        let mut secrets = spec.secrets.clone();
        secrets.extend(request.secrets.clone());
        secrets.extend(sreq.secrets.clone());
        for k in secrets.keys() {
            if environment.contains_key(k) {
                v.push(format!("{f}.secrets.{k}"), "also set as a plain environment variable: use one or the other");
            }
        }
        if environment.len() + secrets.len() > ENV_VARS_MAX {
            v.push(format!("{f}.environment"), format!("at most {ENV_VARS_MAX} variables and secrets per service"));
        }

        let image = if sreq.image_tag.starts_with("sha256:") {
            format!("{}/{}@{}", settings.image_registry, spec.repository, sreq.image_tag)
        } else {
            format!("{}/{}:{}", settings.image_registry, spec.repository, sreq.image_tag)
        };
        services.push(ServicePlan {
            name: name.to_string(),
            product: product.to_string(),
            log_group: naming::log_group_name(&settings.name_prefix, customer),
            log_retention_days: settings.log_retention_days,
            target_group: spec.port.map(|port| TargetGroupPlan {
                name: naming::target_group_name(&settings.name_prefix, customer, name),
                port,
                health_check_path: spec.health_check_path.clone().unwrap_or_else(|| "/".into()),
            }),
            task_family: naming::task_family(&settings.name_prefix, customer, name),
            image,
            cpu,
            memory,
            port: spec.port,
            environment,
            secrets,
            ecs_service: naming::ecs_service_name(&settings.name_prefix, customer, name),
            desired_count: desired,
            autoscaling,
            client_token: naming::client_token(customer, name, execution_id),
        });
    }

    // The customer's own domain: served by the rules of the customer's host, each of which
    // then holds two hosts and at most three paths.
    let own_domain = request
        .domain
        .as_ref()
        .map(|d| OwnDomain { hostname: d.hostname.to_ascii_lowercase(), certificate_arn: d.certificate_arn.clone() });
    if let Some(d) = &own_domain {
        check_own_domain(&d.hostname, &d.certificate_arn, &settings.domain, "domain", &mut v);
        let on_host: Vec<&str> = services
            .iter()
            .filter(|s| s.target_group.is_some() && product_hosts.get(s.product.as_str()) == Some(&host))
            .map(|s| s.name.as_str())
            .collect();
        if on_host.is_empty() && !services.is_empty() {
            v.push("domain", format!("nothing is served at the customer's host {host} (its products are on hosts of their own): an own domain serves that host"));
        }
        for s in &services {
            let paths = catalog.service(&s.name).map_or(0, |(_, spec)| spec.path_patterns.len());
            if on_host.contains(&s.name.as_str()) && 2 + paths > MAX_CONDITION_VALUES {
                v.push(
                    "domain",
                    format!("service {} matches {paths} paths: with an own domain a rule holds two hosts and at most {} paths ({MAX_CONDITION_VALUES} condition values)", s.name, MAX_CONDITION_VALUES - 2),
                );
            }
        }
    }

    let mut health = settings.health;
    if let Some(o) = &request.options {
        if let Some(i) = o.health_interval_seconds {
            health.interval_seconds = i;
        }
        if let Some(m) = o.health_max_attempts {
            health.max_attempts = m;
        }
        check_health(&health, "options", &mut v);
    }

    if !v.is_empty() {
        return Err(v);
    }

    // Rules: the customer's host, then each product's own; on a host the specific ones (with
    // paths) first, the catch-all last.
    let mut rules: Vec<RulePlan> = services
        .iter()
        .filter(|s| s.target_group.is_some())
        .map(|s| {
            let (_, spec) = catalog.service(&s.name).expect("selected from catalog");
            let rule_host = product_hosts.get(s.product.as_str()).cloned().unwrap_or_else(|| host.clone());
            let also = own_domain.iter().filter(|_| rule_host == host).map(|d| d.hostname.clone()).collect();
            RulePlan { service: s.name.clone(), host: rule_host, also, path_patterns: spec.path_patterns.clone() }
        })
        .collect();
    crate::plan::order_rules(&mut rules, &host);

    let tags = BTreeMap::from([
        (naming::TAG_CUSTOMER.to_string(), customer.to_string()),
        (naming::TAG_MANAGED_BY.to_string(), naming::MANAGED_BY_VALUE.to_string()),
    ]);

    let access = request
        .products
        .iter()
        .filter_map(|p| catalog.products.get(p))
        .fold(access::Access::default(), |a, product| a.union(&product.access));
    let customer_certificate = form.customer_certificate(customer, &settings.domain).filter(|_| product_hosts.values().any(|h| *h != host));
    let plan = Plan {
        customer_id: customer.to_string(),
        display_name: display_name.to_string(),
        host,
        execution_id: execution_id.to_string(),
        idempotency_key: request.idempotency_key.clone(),
        products: request.products.clone(),
        tier: tier_name.map(str::to_string),
        services,
        rules,
        health,
        own_domain,
        domain_change: None,
        customer_certificate,
        access,
        role: access::role_name(&settings.name_prefix, customer),
        role_path: access::role_path(&settings.name_prefix),
        security_group: access::security_group_name(&settings.name_prefix, customer),
        tags,
    };
    // What IAM and EC2 would refuse of the customer's role and group, refused here first.
    let mut v = Violations::default();
    plan.check_isolation(&mut v);
    if !v.is_empty() {
        return Err(v);
    }
    Ok(plan)
}

/// A customer's own domain: a DNS name outside the deployment's domain (berth names the
/// hosts there itself), and the ARN of an ACM certificate (`arn:{partition}:acm:{region}:
/// {account}:certificate/{id}`).
pub(crate) fn check_own_domain(hostname: &str, certificate_arn: &str, domain: &str, field: &str, v: &mut Violations) {
    let h = hostname.trim_end_matches('.');
    if !naming::is_domain(h) || h.starts_with("*.") {
        v.push(format!("{field}.hostname"), "must be a DNS name of at least two labels (lowercase letters, digits, hyphens; no wildcard)");
    } else if h == domain || h.ends_with(&format!(".{domain}")) {
        v.push(format!("{field}.hostname"), format!("must be outside {domain}: berth names the hosts under it"));
    }
    if !naming::is_acm_certificate_arn(certificate_arn) {
        v.push(format!("{field}.certificate_arn"), "must be an ACM certificate ARN: arn:aws:acm:{region}:{account}:certificate/{id}");
    }
}

/// The customer id's rules, shared by the request and every step's plan.
pub fn check_customer_id(id: &str, v: &mut Violations) {
    const F: &str = "customer_id";
    let len = id.chars().count();
    if !(CUSTOMER_ID_MIN..=CUSTOMER_ID_MAX).contains(&len) {
        v.push(F, format!("must be {CUSTOMER_ID_MIN}-{CUSTOMER_ID_MAX} characters"));
    }
    if !naming::is_slug(id) {
        v.push(
            F,
            "must be a DNS-safe slug: lowercase letters, digits and single hyphens, starting with a letter, not ending with a hyphen",
        );
    }
    if RESERVED_CUSTOMER_IDS.contains(&id) {
        v.push(F, format!("'{id}' is reserved"));
    }
    if id.starts_with("internal-") || id.starts_with("xn-") {
        v.push(F, "must not start with 'internal-' or 'xn-'");
    }
}

/// A request names only the customer's own secrets: its role may read what the request names.
fn check_own_secrets(secrets: &BTreeMap<String, String>, customer: &str, prefix: &str, v: &mut Violations) {
    for (k, arn) in secrets {
        if naming::is_secret_arn(arn) && !naming::is_customers_secret(arn, customer) {
            v.push(
                format!("{prefix}secrets.{k}"),
                format!(
                    "must be one of the customer's own: a Secrets Manager secret named {customer}/… or an SSM parameter under /{customer}/"
                ),
            );
        }
    }
}

fn check_env(env: &BTreeMap<String, String>, secrets: &BTreeMap<String, String>, prefix: &str, v: &mut Violations) {
    for (k, val) in env {
        let f = format!("{prefix}environment.{k}");
        if !naming::is_env_name(k) {
            v.push(&f, "not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)");
        } else if RESERVED_ENV_PREFIXES.iter().any(|p| k.starts_with(p)) {
            v.push(&f, format!("names starting with {RESERVED_ENV_PREFIXES:?} are reserved"));
        } else if SECRET_LIKE_NAMES.iter().any(|s| k.to_ascii_uppercase().contains(s)) {
            v.push(&f, "looks like a secret: pass it under secrets as a Secrets Manager or SSM parameter ARN");
        }
        if val.len() > ENV_VALUE_MAX {
            v.push(&f, format!("value longer than {ENV_VALUE_MAX} bytes"));
        } else if naming::carries_credentials(val) {
            // Never echo the value: it holds the credentials.
            v.push(
                &f,
                "the value carries credentials (a URL with user:password@, a private key or an access key): pass it under secrets as a Secrets Manager or SSM parameter ARN (the value is not shown)",
            );
        }
    }
    for (k, arn) in secrets {
        let f = format!("{prefix}secrets.{k}");
        if !naming::is_env_name(k) {
            v.push(&f, "not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)");
        } else if RESERVED_ENV_PREFIXES.iter().any(|p| k.starts_with(p)) {
            v.push(&f, format!("names starting with {RESERVED_ENV_PREFIXES:?} are reserved"));
        }
        if !naming::is_secret_arn(arn) {
            // Never echo the value: it may be the secret itself.
            v.push(&f, "must be the ARN of a Secrets Manager secret or an SSM parameter (the value is not shown)");
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use serde_json::json;

    /// The deployment settings the domain's tests plan with.
    pub(crate) fn settings() -> Settings {
        Settings {
            domain: "apps.example.com".into(),
            image_registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
            log_retention_days: 30,
            health: HealthPolicy { interval_seconds: 15, max_attempts: 40 },
            name_prefix: "berth".into(),
            product_host_form: Default::default(),
        }
    }

    fn good() -> serde_json::Value {
        serde_json::from_str(include_str!("../../../events/onboard.json")).expect("events/onboard.json is JSON")
    }

    fn run(value: serde_json::Value) -> Result<Plan, Violations> {
        let req = OnboardingRequest::from_json(value).map_err(|e| match e {
            crate::BerthError::InvalidRequest(v) => v,
            other => panic!("{other}"),
        })?;
        validate(&req, &Catalog::builtin(), &settings(), "arn:exec:1")
    }

    fn reasons(value: serde_json::Value) -> Vec<(String, String)> {
        run(value).expect_err("refused").iter().map(|v| (v.field.clone(), v.rule.clone())).collect()
    }

    fn with_products(products: &[&str]) -> serde_json::Value {
        let mut req = good();
        req["products"] = json!(products);
        let catalog = Catalog::builtin();
        let mut services = serde_json::Map::new();
        for p in products {
            for s in catalog.products[*p].services.keys() {
                services.insert(s.clone(), json!({"image_tag": "1.0.0"}));
            }
        }
        req["services"] = serde_json::Value::Object(services);
        req
    }

    fn run_with(value: serde_json::Value, form: HostForm) -> Result<Plan, Violations> {
        let req = OnboardingRequest::from_json(value).map_err(|e| match e {
            crate::BerthError::InvalidRequest(v) => v,
            other => panic!("{other}"),
        })?;
        validate(&req, &Catalog::builtin(), &Settings { product_host_form: form, ..settings() }, "arn:exec:1")
    }

    #[test]
    fn products_on_hosts_of_their_own_get_their_own_rules_in_either_form() {
        let req = with_products(&["webapp", "shop", "pos", "books"]);
        for (form, shop, pos) in [
            (HostForm::Dashed, "shop-acme.apps.example.com", "pos-acme.apps.example.com"),
            (HostForm::Dotted, "shop.acme.apps.example.com", "pos.acme.apps.example.com"),
        ] {
            let plan = run_with(req.clone(), form).expect("valid");
            assert!(plan.check().is_empty(), "{}", plan.check());
            let rules: Vec<(&str, &str, usize)> =
                plan.rules.iter().map(|r| (r.service.as_str(), r.host.as_str(), r.path_patterns.len())).collect();
            // The customer's host, then the products' by name; on a host, paths first.
            assert_eq!(
                rules,
                [
                    ("api", "acme.apps.example.com", 1),
                    ("frontend", "acme.apps.example.com", 0),
                    ("ledger", &form.product_host("books", "acme", "apps.example.com"), 0),
                    ("terminal", pos, 1),
                    ("backoffice", pos, 0),
                    ("storefront", shop, 0),
                ]
            );
            // However the request lists them.
            let mut reordered = req.clone();
            reordered["products"] = json!(["books", "pos", "shop", "webapp"]);
            assert_eq!(run_with(reordered, form).expect("valid").rules, plan.rules);
            assert_eq!(plan.hosts().len(), 4, "the customer's host and three of the products'");
            assert_eq!(plan.urls()["shop"], format!("https://{shop}"));
            assert_eq!(plan.urls()["webapp"], "https://acme.apps.example.com");
            assert_eq!(plan.service("storefront").map(|s| s.environment["BERTH_HOST"].as_str()), Some(shop));
            // Names are per (customer, service): a product added later renames nothing.
            let one = run_with(with_products(&["webapp", "shop"]), form).expect("valid");
            for s in &one.services {
                assert_eq!(plan.service(&s.name).map(|p| (&p.ecs_service, &p.target_group)), Some((&s.ecs_service, &s.target_group)));
            }
        }
        // Every name of a kind distinct within the plan.
        let plan = run_with(req, HostForm::Dashed).expect("valid");
        let tgs: Vec<&str> = plan.services.iter().filter_map(|s| s.target_group.as_ref().map(|t| t.name.as_str())).collect();
        let services: Vec<&str> = plan.services.iter().map(|s| s.ecs_service.as_str()).collect();
        let families: Vec<&str> = plan.services.iter().map(|s| s.task_family.as_str()).collect();
        for mut names in [tgs, services, families] {
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n);
        }
    }

    #[test]
    fn a_customer_id_that_is_another_customers_product_host_is_refused_in_the_dashed_form() {
        let mut req = with_products(&["webapp"]);
        req["customer_id"] = json!("shop-acme");
        let got = run_with(req.clone(), HostForm::Dashed).expect_err("refused");
        assert_eq!(got.fields(), vec!["customer_id"]);
        assert!(got.to_string().contains("must not start with 'shop-'"), "{got}");
        // The dotted form's product hosts are two labels deep: no clash.
        assert!(run_with(req, HostForm::Dotted).is_ok());
        // A product host past DNS's 63 characters a label: refused, naming the product.
        let catalog = Catalog::parse(
            r#"
default_product = "a-product-with-a-long-long-name"
[products.a-product-with-a-long-long-name]
host = "own"
[products.a-product-with-a-long-long-name.services.site]
repository = "long/site"
port = 8080
health_check_path = "/"
cpu = 256
memory = 512
desired_count = 1
"#,
        )
        .expect("catalog");
        let mut req = good();
        req["customer_id"] = json!("a".repeat(40));
        req["products"] = json!(["a-product-with-a-long-long-name"]);
        req["services"] = json!({"site": {"image_tag": "1.0.0"}});
        let req = OnboardingRequest::from_json(req).expect("parsed");
        let dashed = Settings { product_host_form: HostForm::Dashed, ..settings() };
        let got = validate(&req, &catalog, &dashed, "arn:exec:1").expect_err("refused");
        assert_eq!(got.fields(), vec!["products[0]"]);
        let dotted = Settings { product_host_form: HostForm::Dotted, ..settings() };
        assert!(validate(&req, &catalog, &dotted, "arn:exec:1").is_ok(), "each label fits");
    }

    #[test]
    fn an_own_domain_joins_the_rules_of_the_customers_host_and_counts_a_certificate() {
        let arn = "arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f5a";
        let mut req = with_products(&["webapp", "shop"]);
        req["domain"] = json!({"hostname": "Shop.Acme-Corp.com", "certificate_arn": arn});
        let plan = run_with(req.clone(), HostForm::Dashed).expect("valid");
        assert!(plan.check().is_empty(), "{}", plan.check());
        for r in &plan.rules {
            let want: Vec<String> = if r.host == plan.host { vec!["shop.acme-corp.com".into()] } else { Vec::new() };
            assert_eq!(r.also, want, "{}", r.service);
        }
        assert_eq!(plan.certificate_arns(), [arn]);
        assert!(plan.rule_hosts().contains(&"shop.acme-corp.com".to_string()));
        // Refused: inside berth's domain, a value that is not a certificate ARN, a domain
        // with nothing at the customer's host to serve.
        for (domain, products, field) in [
            (json!({"hostname": "x.apps.example.com", "certificate_arn": arn}), vec!["webapp"], "domain.hostname"),
            (json!({"hostname": "*.acme-corp.com", "certificate_arn": arn}), vec!["webapp"], "domain.hostname"),
            (
                json!({"hostname": "shop.acme-corp.com", "certificate_arn": "arn:aws:iam::123456789012:role/x"}),
                vec!["webapp"],
                "domain.certificate_arn",
            ),
            (json!({"hostname": "shop.acme-corp.com", "certificate_arn": arn}), vec!["shop"], "domain"),
        ] {
            let mut req = with_products(&products);
            req["domain"] = domain;
            let got = run_with(req, HostForm::Dashed).expect_err("refused");
            assert_eq!(got.fields(), vec![field], "{got}");
        }
        // A plan whose rule carries another host, or the domain on a product's own host.
        let mut bad = plan.clone();
        bad.rules[0].also = vec!["other.example.org".into()];
        assert_eq!(bad.check().fields(), vec!["plan.rules[0].also"]);
        let mut bad = plan;
        let own = bad.rules.iter().position(|r| r.service == "storefront").expect("rule");
        bad.rules[own].also = vec!["shop.acme-corp.com".into()];
        assert_eq!(bad.check().fields(), vec![format!("plan.rules[{own}].also")]);
    }

    #[test]
    fn an_update_that_changes_the_own_domain_holds_both_until_it_is_done() {
        let (old, new) = (
            "arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f5a",
            "arn:aws:acm:us-east-1:123456789012:certificate/9f8e7d6c-5b4a",
        );
        let mut req = with_products(&["webapp", "shop"]);
        req["domain"] = json!({"hostname": "shop.acme-corp.com", "certificate_arn": old});
        let recorded = run_with(req.clone(), HostForm::Dashed).expect("valid");
        let mut req = with_products(&["webapp"]);
        req["domain"] = json!({"hostname": "store.acme.example.org", "certificate_arn": new});
        let desired = run_with(req.clone(), HostForm::Dashed).expect("valid");
        let union = desired.union(&recorded);
        assert!(union.check().is_empty(), "{}", union.check());
        assert_eq!(union.replaced_domain(), recorded.own_domain.as_ref());
        // Both certificates on the listener and counted, both hostnames routed; the rules of
        // the customer's host have the new one (the removed product's, on its own host, none).
        assert_eq!(union.certificate_arns(), [new, old]);
        assert_eq!(union.certificate_count(), 2);
        let hosts = union.rule_hosts();
        assert!(hosts.contains(&"shop.acme-corp.com".into()) && hosts.contains(&"store.acme.example.org".into()), "{hosts:?}");
        for r in &union.rules {
            let want: Vec<String> = if r.host == union.host { vec!["store.acme.example.org".into()] } else { Vec::new() };
            assert_eq!(r.also, want, "{}", r.service);
        }
        assert!(union.rules.iter().any(|r| r.service == "storefront"), "the removed product's rule is in the union");
        // A rule of the customer's host that still has the replaced one is right too.
        let mut still = union.clone();
        still.rules[0].also = vec!["shop.acme-corp.com".into()];
        assert!(still.check().is_empty(), "{}", still.check());
        // One certificate that serves both names counts once.
        req["domain"] = json!({"hostname": "store.acme.example.org", "certificate_arn": old});
        let same_certificate = run_with(req.clone(), HostForm::Dashed).expect("valid").union(&recorded);
        assert_eq!((same_certificate.certificate_arns(), same_certificate.certificate_count()), (vec![old.to_string()], 1));
        // Taken away: the union holds the old one only; added: the new one only.
        req.as_object_mut().expect("object").remove("domain");
        let without = run_with(req.clone(), HostForm::Dashed).expect("valid");
        let taken = without.union(&recorded);
        assert_eq!((taken.certificate_arns(), taken.replaced_domain()), (vec![old.to_string()], recorded.own_domain.as_ref()));
        let added = recorded.union(&without);
        assert_eq!((added.domain_change.as_ref().map(|c| c.was.clone()), added.certificate_count()), (Some(None), 1));
        // Unchanged: no change on the union; a change naming the same domain is refused.
        assert_eq!(recorded.union(&recorded).domain_change, None);
        let mut bad = union.clone();
        bad.domain_change = Some(crate::plan::DomainChange { was: desired.own_domain.clone() });
        assert!(bad.check().fields().contains(&"plan.domain_change.was"), "{}", bad.check());
        let mut bad = union;
        bad.rules[0].also = vec!["other.example.org".into()];
        assert_eq!(bad.check().fields(), vec!["plan.rules[0].also"]);
    }

    #[test]
    fn a_plan_rule_may_only_name_the_customers_hosts() {
        let mut plan = run_with(with_products(&["webapp", "shop"]), HostForm::Dashed).expect("valid");
        let shop = plan.rules.iter().position(|r| r.service == "storefront").expect("rule");
        plan.rules[shop].host = "shop-other.apps.example.com".into();
        assert_eq!(plan.check().fields(), vec!["plan.rules[2].host"]);
        plan.rules[shop].host = "shop.acme.apps.example.com".into();
        assert!(plan.check().is_empty());
        plan.rules[shop].host = "crm-acme.apps.example.com".into();
        assert_eq!(plan.check().fields(), vec!["plan.rules[2].host"], "another product's host");
    }

    #[test]
    fn the_tier_sets_sizes_and_a_request_may_go_up_to_its_bounds() {
        // No tier named: the default (standard), the catalog's sizes.
        let plan = run(good()).expect("valid");
        assert_eq!(plan.tier.as_deref(), Some("standard"));
        assert_eq!(plan.service("api").map(|s| (s.cpu, s.memory)), Some((256, 512)));
        // Enterprise: its own sizes and counts.
        let mut req = good();
        req["tier"] = json!("enterprise");
        req["services"]["api"] = json!({"image_tag": "1.4.2"});
        let plan = run(req).expect("valid");
        let api = plan.service("api").expect("api");
        assert_eq!((api.cpu, api.memory, api.desired_count), (1024, 2048, 3));
        // Basic, at its bounds exactly: accepted.
        let mut req = good();
        req["tier"] = json!("basic");
        req["services"]["api"] = json!({"image_tag": "1.4.2", "cpu": 512, "memory": 1024, "desired_count": 2});
        let plan = run(req).expect("at the bounds");
        let api = plan.service("api").expect("api");
        assert_eq!((api.cpu, api.memory, api.desired_count), (512, 1024, 2));
        assert_eq!(plan.service("frontend").map(|s| s.desired_count), Some(1), "the tier's count");
    }

    #[test]
    fn a_tier_that_scales_a_service_plans_its_bounds_and_a_request_narrows_them() {
        let mut req = good();
        req["tier"] = json!("enterprise");
        req["services"]["api"] = json!({"image_tag": "1.4.2"});
        let plan = run(req.clone()).expect("valid");
        let api = plan.service("api").expect("api");
        let a = api.autoscaling.clone().expect("scaled");
        assert_eq!((a.min, a.max, a.cpu_target, a.policy_name.as_str(), api.desired_count), (2, 10, 70, "berth-acme-api-cpu", 3));
        assert!(plan.service("worker").is_some_and(|w| w.autoscaling.is_none()));
        assert!(plan.check().is_empty(), "{}", plan.check());
        req["services"]["api"] = json!({"image_tag": "1.4.2", "desired_count": 1, "autoscaling": {"min": 1, "max": 4}});
        let api = run(req.clone()).expect("narrowed").services.into_iter().find(|s| s.name == "api").expect("api");
        assert_eq!(api.autoscaling.map(|a| (a.min, a.max)), Some((1, 4)));
        assert_eq!(api.desired_count, 1);

        // Past the bounds, or a count outside them, or scaling a service the tier does not.
        req["services"]["api"] = json!({"image_tag": "1.4.2", "desired_count": 1});
        let got = reasons(req.clone());
        assert!(
            got.contains(&("services.api.desired_count".into(), "from 2 to 10 while the enterprise tier scales api".into())),
            "{got:?}"
        );
        req["services"]["api"] = json!({"image_tag": "1.4.2", "autoscaling": {"max": 21}});
        let got = reasons(req.clone());
        assert!(
            got.iter().any(|(f, r)| f == "services.api.autoscaling" && r.starts_with("1 <= min <= max <= 20: the enterprise tier's bound")),
            "{got:?}"
        );
        let mut basic = good();
        basic["tier"] = json!("basic");
        basic["services"]["api"] = json!({"image_tag": "1.4.2", "autoscaling": {"min": 1}});
        assert!(reasons(basic).contains(&("services.api.autoscaling".into(), "the basic tier does not scale api".into())));
    }

    #[test]
    fn past_its_tiers_bounds_a_request_is_refused_naming_the_field_and_the_bound() {
        let mut req = good();
        req["tier"] = json!("basic");
        req["services"]["api"] = json!({"image_tag": "1.4.2", "cpu": 1024, "memory": 2048, "desired_count": 3});
        let got = reasons(req);
        for (field, bound) in [("services.api.desired_count", 2), ("services.api.cpu", 512), ("services.api.memory", 1024)] {
            let rule = format!("at most {bound}: the basic tier's bound");
            assert!(got.contains(&(field.to_string(), rule.clone())), "{field} {rule}: {got:?}");
        }
        // A product the tier does not allow, and a tier the catalog does not have.
        let mut req = good();
        req["tier"] = json!("basic");
        req["products"] = json!(["webapp", "reports"]);
        req["services"]["reports"] = json!({"image_tag": "1"});
        assert!(reasons(req).contains(&("products[1]".into(), "'reports' is not in the basic tier (it allows: webapp)".into())));
        let mut req = good();
        req["tier"] = json!("platinum");
        let got = reasons(req);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "tier");
        assert!(got[0].1.starts_with("unknown tier 'platinum' (known: basic, enterprise, standard)"), "{got:?}");
    }

    #[test]
    fn the_example_event_builds_the_seed_web_app() {
        let plan = run(good()).expect("valid");
        assert_eq!(plan.customer_id, "acme");
        assert_eq!(plan.host, "acme.apps.example.com");
        let names: Vec<_> = plan.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["api", "frontend", "worker"]);
        let api = plan.service("api").unwrap();
        assert_eq!(api.target_group.as_ref().unwrap().port, 3001);
        assert_eq!(api.target_group.as_ref().unwrap().health_check_path, "/health");
        assert!(api.image.ends_with("/webapp/backend-api:1.4.2"), "{}", api.image);
        assert!(plan.service("worker").unwrap().target_group.is_none());
        // The /api/* rule comes first, so it gets the lower priority.
        assert_eq!(plan.rules.len(), 2);
        assert_eq!(plan.rules[0].service, "api");
        assert_eq!(plan.rules[0].path_patterns, vec!["/api/*"]);
        assert_eq!(plan.rules[1].service, "frontend");
        assert!(plan.rules[1].path_patterns.is_empty());
        assert_eq!(plan.tags[naming::TAG_MANAGED_BY], "berth");
        assert_eq!(plan.tags[naming::TAG_CUSTOMER], "acme");
        assert_eq!(api.environment["BERTH_HOST"], "acme.apps.example.com");
        assert!(api.secrets.values().all(|a| a.starts_with("arn:")));
    }

    /// A table of bad requests: each names the field it breaks.
    #[test]
    fn bad_requests_name_their_field() {
        let cases: Vec<(&str, serde_json::Value, &str)> = vec![
            ("reserved id", json!({"customer_id": "www"}), "customer_id"),
            ("reserved admin", json!({"customer_id": "admin"}), "customer_id"),
            ("upper case id", json!({"customer_id": "Acme"}), "customer_id"),
            ("too short", json!({"customer_id": "ab"}), "customer_id"),
            ("too long", json!({"customer_id": "a".repeat(41)}), "customer_id"),
            ("trailing hyphen", json!({"customer_id": "acme-"}), "customer_id"),
            ("internal prefix", json!({"customer_id": "internal-x"}), "customer_id"),
            ("empty key", json!({"idempotency_key": ""}), "idempotency_key"),
            ("key with a slash", json!({"idempotency_key": "a/b"}), "idempotency_key"),
            ("key too long", json!({"idempotency_key": "k".repeat(37)}), "idempotency_key"),
            ("empty name", json!({"display_name": "  "}), "display_name"),
            ("unknown product", json!({"products": ["webapp", "payroll"]}), "products[1]"),
            ("no product", json!({"products": []}), "products"),
            ("dup product", json!({"products": ["webapp", "webapp"]}), "products[1]"),
            (
                "bad tag",
                json!({"services": {"api": {"image_tag": "-x"}, "worker": {"image_tag": "1"}, "frontend": {"image_tag": "1"}}}),
                "services.api.image_tag",
            ),
            (
                "latest tag",
                json!({"services": {"api": {"image_tag": "latest"}, "worker": {"image_tag": "1"}, "frontend": {"image_tag": "1"}}}),
                "services.api.image_tag",
            ),
            ("missing service", json!({"services": {"api": {"image_tag": "1"}, "worker": {"image_tag": "1"}}}), "services.frontend"),
            (
                "unknown service",
                json!({"services": {"api": {"image_tag": "1"}, "worker": {"image_tag": "1"}, "frontend": {"image_tag": "1"}, "db": {"image_tag": "1"}}}),
                "services.db",
            ),
            (
                "count too high",
                json!({"services": {"api": {"image_tag": "1", "desired_count": 21}, "worker": {"image_tag": "1"}, "frontend": {"image_tag": "1"}}}),
                "services.api.desired_count",
            ),
            (
                "bad size",
                json!({"services": {"api": {"image_tag": "1", "cpu": 256, "memory": 8192}, "worker": {"image_tag": "1"}, "frontend": {"image_tag": "1"}}}),
                "services.api.cpu",
            ),
            ("secret in env", json!({"environment": {"DB_PASSWORD": "hunter2"}}), "environment.DB_PASSWORD"),
            ("reserved env", json!({"environment": {"AWS_REGION": "x"}}), "environment.AWS_REGION"),
            ("bad env name", json!({"environment": {"1X": "x"}}), "environment.1X"),
            ("secret value", json!({"secrets": {"DATABASE_URL": "postgres://u:hunter2@db"}}), "secrets.DATABASE_URL"),
            ("unknown field", json!({"colour": "red"}), "colour"),
            ("bad interval", json!({"options": {"health_interval_seconds": 301}}), "options.interval_seconds"),
        ];
        for (what, patch, field) in cases {
            let mut req = good();
            for (k, val) in patch.as_object().unwrap() {
                req[k] = val.clone();
            }
            let v = run(req).expect_err(what);
            assert!(v.fields().contains(&field), "{what}: expected {field} in {v}");
        }
    }

    #[test]
    fn secret_values_never_appear_in_errors() {
        let mut req = good();
        req["secrets"] = json!({"DATABASE_URL": "postgres://u:hunter2@db"});
        let v = run(req).unwrap_err();
        assert!(!v.to_string().contains("hunter2"), "{v}");
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let mut req = good();
        req["customer_id"] = json!("WWW");
        req["display_name"] = json!("");
        req["products"] = json!(["nope"]);
        let v = run(req).unwrap_err();
        assert!(v.0.len() >= 3, "{v}");
    }

    #[test]
    fn two_customers_get_distinct_names() {
        let a = run(good()).unwrap();
        let mut other = good();
        other["customer_id"] = json!("globex");
        other["services"]["api"]["secrets"]["DATABASE_URL"] =
            json!("arn:aws:secretsmanager:us-east-1:123456789012:secret:globex/database-url-AbCdEf");
        let b = run(other).unwrap();
        let mut theirs = good();
        theirs["customer_id"] = json!("globex");
        assert_eq!(reasons(theirs)[0].0, "services.api.secrets.DATABASE_URL", "acme's secret named by globex");
        for (sa, sb) in a.services.iter().zip(&b.services) {
            assert_ne!(sa.ecs_service, sb.ecs_service);
            assert_ne!(sa.task_family, sb.task_family);
            assert_ne!(sa.log_group, sb.log_group);
            if sa.target_group.is_some() {
                assert_ne!(sa.target_group, sb.target_group);
            }
        }
        assert_ne!(a.host, b.host);
    }

    #[test]
    fn combined_products_order_rules_by_specificity() {
        let mut req = good();
        req["products"] = json!(["webapp", "reports"]);
        req["services"]["reports"] = json!({"image_tag": "2.0.0"});
        let plan = run(req).unwrap();
        let order: Vec<_> = plan.rules.iter().map(|r| r.service.as_str()).collect();
        assert_eq!(order.last(), Some(&"frontend"));
        assert_eq!(order.len(), 3);
    }

    #[test]
    fn the_union_of_two_plans_keeps_each_ones_rule_order() {
        let one = run(good()).unwrap();
        let mut req = good();
        req["products"] = json!(["webapp", "reports"]);
        req["services"]["reports"] = json!({"image_tag": "2.0.0"});
        let both = run(req).unwrap();
        let order = |p: &Plan| p.rules.iter().map(|r| r.service.clone()).collect::<Vec<_>>();
        for u in [one.union(&both), both.union(&one)] {
            assert_eq!(order(&u), ["api", "reports", "frontend"]);
            assert_eq!(u.services.len(), 4);
            assert_eq!(u.products.len(), 2);
            // Without either side's own services, the other side's order is left.
            let without =
                |gone: &[String]| u.rules.iter().filter(|r| !gone.contains(&r.service)).map(|r| r.service.clone()).collect::<Vec<_>>();
            assert_eq!(without(&both.services_not_in(&one)), order(&one));
            assert_eq!(without(&[]), order(&both));
        }
        assert_eq!(both.services_not_in(&one), ["reports"]);
        assert!(one.services_not_in(&both).is_empty());
        assert_eq!((one.target_group_count(), both.target_group_count()), (2, 3));
    }

    #[test]
    fn operator_options_override_the_health_policy() {
        let mut req = good();
        req["options"] = json!({"health_interval_seconds": 0, "health_max_attempts": 3});
        let plan = run(req).unwrap();
        assert_eq!(plan.health, HealthPolicy { interval_seconds: 0, max_attempts: 3 });
    }

    #[test]
    fn digests_are_pinned_with_at() {
        let mut req = good();
        let digest = format!("sha256:{}", "ab".repeat(32));
        req["services"]["api"] = json!({"image_tag": digest});
        let plan = run(req).unwrap();
        assert!(plan.service("api").unwrap().image.ends_with(&format!("/webapp/backend-api@{digest}")));
    }

    #[test]
    fn settings_are_checked() {
        let mut s = settings();
        s.domain = "localhost".into();
        s.log_retention_days = 31;
        let v = s.check();
        assert_eq!(v.fields(), vec!["BERTH_DOMAIN", "BERTH_LOG_RETENTION_DAYS"]);
    }

    #[test]
    fn a_customer_id_of_multibyte_characters_is_refused_not_a_panic() {
        for id in ["ü".repeat(30), "ü".repeat(3), "漢字漢字漢字".into(), "🦀".repeat(40), format!("acme{}", "\u{301}".repeat(50))]
        {
            let mut req = good();
            req["customer_id"] = json!(id);
            let v = run(req).expect_err(&id);
            assert!(v.fields().contains(&"customer_id"), "{id}: {v}");
        }
    }

    #[test]
    fn credentials_in_plain_values_are_refused_without_being_echoed() {
        let mut req = good();
        req["services"]["api"]["environment"] = json!({"CACHE_URL": "redis://default:hunter2@cache.internal:6379"});
        let v = run(req).unwrap_err();
        assert_eq!(v.fields(), vec!["services.api.environment.CACHE_URL"]);
        assert!(v.to_string().contains("secrets") && !v.to_string().contains("hunter2"), "{v}");
    }

    #[test]
    fn the_name_prefix_starts_every_name() {
        let mut s = settings();
        s.name_prefix = "saas2".into();
        let req = OnboardingRequest::from_json(good()).unwrap();
        let plan = validate(&req, &Catalog::builtin(), &s, "arn:exec:1").unwrap();
        for svc in &plan.services {
            assert!(svc.ecs_service.starts_with("saas2-acme-") && svc.task_family.starts_with("saas2-acme-"), "{svc:?}");
            assert_eq!(svc.log_group, "/saas2/acme");
            if let Some(tg) = &svc.target_group {
                assert!(tg.name.starts_with("saas2-acme-"), "{tg:?}");
            }
        }
        s.name_prefix = "Not A Prefix".into();
        assert_eq!(s.check().fields(), vec!["BERTH_NAME_PREFIX"]);
    }

    proptest::proptest! {
        /// Every plan validate builds passes the check every step makes of its plan, and no
        /// customer id, however odd, makes validation panic.
        #[test]
        fn validated_plans_pass_the_steps_check(
            customer in proptest::prop_oneof!["[a-z][a-z0-9]{2,20}(-[a-z0-9]{1,8}){0,2}", "\\PC{0,45}"],
            name in "[A-Za-z ]{1,100}",
            prefix in "[a-z][a-z0-9]{0,11}",
            count in 0u32..=20,
        ) {
            let mut req = good();
            req["customer_id"] = json!(customer);
            req["display_name"] = json!(name);
            req["services"]["worker"]["desired_count"] = json!(count);
            let mut s = settings();
            s.name_prefix = prefix;
            let Ok(req) = OnboardingRequest::from_json(req) else { return Ok(()) };
            if let Ok(plan) = validate(&req, &Catalog::builtin(), &s, "arn:aws:states:us-east-1:123456789012:execution:berth-onboard:x_k") {
                proptest::prop_assert!(plan.check().is_empty(), "{}", plan.check());
            }
        }
    }
}

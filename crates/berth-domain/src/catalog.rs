//! The product catalog (`catalog/products.toml`): products and the services they run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::access::Access;
use crate::error::Violations;
use crate::naming;

/// The catalog shipped with berth, compiled into the validate step.
pub const DEFAULT_CATALOG: &str = include_str!("../../../catalog/products.toml");

/// Highest desired count a catalog entry or a request may set.
pub const MAX_DESIRED_COUNT: u32 = 20;
/// Path patterns per service: a rule holds 5 condition values and the host takes one.
pub const MAX_PATH_PATTERNS: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub default_product: String,
    /// The tier of a request that names none (required when the catalog has tiers).
    #[serde(default)]
    pub default_tier: Option<String>,
    /// What a customer may have and how big: none means every product at the catalog's
    /// sizes, and a request bound only by AWS's own limits.
    #[serde(default)]
    pub tiers: BTreeMap<String, Tier>,
    pub products: BTreeMap<String, Product>,
}

/// A tier: the products it allows, each service's size and count, and how far a request may
/// go past them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    #[serde(default)]
    pub description: String,
    /// The products a customer of this tier may have.
    pub products: Vec<String>,
    /// Each service's cpu, memory and desired count in this tier, over the catalog's.
    #[serde(default)]
    pub services: BTreeMap<String, TierService>,
    /// The most cpu units, memory (MiB) and tasks a request may ask any service for.
    pub max_cpu: u32,
    pub max_memory: u32,
    pub max_desired_count: u32,
    /// The services whose task count this tier scales with their CPU, by name. A request
    /// may narrow the bounds (down to one task, up to `max_desired_count`).
    #[serde(default)]
    pub autoscaling: BTreeMap<String, Autoscaling>,
}

/// Target tracking of a service's average CPU: its task count kept between `min` and `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscaling {
    pub min: u32,
    pub max: u32,
    /// The average CPU (percent) the scaler holds the tasks at.
    pub cpu_target: u32,
}

/// The CPU targets berth takes: below, tasks are added for nothing; above, too late.
pub const CPU_TARGETS: std::ops::RangeInclusive<u32> = 10..=90;

/// A service's size and count in a tier (each left out: the catalog's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierService {
    #[serde(default)]
    pub cpu: Option<u32>,
    #[serde(default)]
    pub memory: Option<u32>,
    #[serde(default)]
    pub desired_count: Option<u32>,
}

/// A service's size and count, as a tier sets them and bounds a request's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizing {
    pub cpu: u32,
    pub memory: u32,
    pub desired_count: u32,
    pub max_cpu: u32,
    pub max_memory: u32,
    pub max_desired_count: u32,
    /// The tier scales the service's task count.
    pub autoscaling: Option<Autoscaling>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    #[serde(default)]
    pub description: String,
    /// Where the product's services are served: on the customer's host (by path), or on a
    /// host of the product's own.
    #[serde(default)]
    pub host: ProductHost,
    /// What the product's code may reach of the customer's data (in the customer's own role).
    #[serde(default)]
    pub access: Access,
    pub services: BTreeMap<String, ServiceSpec>,
}

/// Where a product's services are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProductHost {
    /// On the customer's host `{customer}.{domain}`, under the services' paths.
    #[default]
    Customer,
    /// On a host of its own, named by the deployment's host form
    /// ([`naming::HostForm`]): `{product}-{customer}.{domain}` or
    /// `{product}.{customer}.{domain}`.
    Own,
}

/// One service of a product, as the catalog defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Image repository under the deployment's registry.
    pub repository: String,
    /// Container port; a service without one gets no target group and no rule.
    #[serde(default)]
    pub port: Option<u16>,
    /// Paths this service takes on the customer's host; none means "everything else".
    #[serde(default)]
    pub path_patterns: Vec<String>,
    /// The target group health check path (required with a port).
    #[serde(default)]
    pub health_check_path: Option<String>,
    pub cpu: u32,
    pub memory: u32,
    pub desired_count: u32,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Secret references every customer's service gets: variable name to the ARN of a
    /// Secrets Manager secret or SSM parameter (never a value). The customer's role may read
    /// exactly these and its request's.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

impl ServiceSpec {
    /// True when the service takes all of the host that no other rule takes.
    pub fn is_catch_all(&self) -> bool {
        self.port.is_some() && self.path_patterns.is_empty()
    }
}

impl Catalog {
    /// Parses and checks a catalog; every rule it breaks is reported.
    pub fn parse(text: &str) -> Result<Catalog, Violations> {
        let catalog: Catalog = toml::from_str(text).map_err(|e| {
            let mut v = Violations::default();
            v.push("catalog", format!("not valid TOML for a catalog: {e}"));
            v
        })?;
        let violations = catalog.check();
        if violations.is_empty() {
            Ok(catalog)
        } else {
            Err(violations)
        }
    }

    /// The catalog shipped with berth.
    pub fn builtin() -> Catalog {
        // The shipped file is checked by this crate's tests; a broken one cannot be released.
        Catalog::parse(DEFAULT_CATALOG).unwrap_or_else(|v| panic!("catalog/products.toml is invalid: {v}"))
    }

    /// The service spec of a service name, with the product it belongs to.
    pub fn service(&self, name: &str) -> Option<(&str, &ServiceSpec)> {
        self.products.iter().find_map(|(p, prod)| prod.services.get(name).map(|s| (p.as_str(), s)))
    }

    /// The tier a request is in: the one it names, else the catalog's default; `None` with
    /// a catalog of no tiers.
    pub fn tier(&self, named: Option<&str>) -> Result<Option<(&str, &Tier)>, String> {
        let Some(name) = named.or(self.default_tier.as_deref()) else {
            return if self.tiers.is_empty() { Ok(None) } else { Err("required: the catalog has tiers and names no default".into()) };
        };
        match self.tiers.get_key_value(name) {
            Some((n, t)) => Ok(Some((n.as_str(), t))),
            None if self.tiers.is_empty() => {
                Err(format!("the catalog has no tiers: leave tier out (not '{}')", naming::truncate(name, 40)))
            }
            None => Err(format!(
                "unknown tier '{}' (known: {})",
                naming::truncate(name, 40),
                self.tiers.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// A service's size and count and their bounds in a tier (none: the catalog's sizes,
    /// bounded by Fargate's sizes and [`MAX_DESIRED_COUNT`]).
    pub fn sizing(tier: Option<&Tier>, name: &str, spec: &ServiceSpec) -> Sizing {
        let own = tier.and_then(|t| t.services.get(name)).copied().unwrap_or_default();
        Sizing {
            cpu: own.cpu.unwrap_or(spec.cpu),
            memory: own.memory.unwrap_or(spec.memory),
            desired_count: own.desired_count.unwrap_or(spec.desired_count),
            max_cpu: tier.map_or(naming::FARGATE_MAX_CPU, |t| t.max_cpu),
            max_memory: tier.map_or(naming::FARGATE_MAX_MEMORY, |t| t.max_memory),
            max_desired_count: tier.map_or(MAX_DESIRED_COUNT, |t| t.max_desired_count),
            autoscaling: tier.and_then(|t| t.autoscaling.get(name)).copied(),
        }
    }

    /// Checks every rule a catalog must follow.
    pub fn check(&self) -> Violations {
        let mut v = Violations::default();
        if !self.products.contains_key(&self.default_product) {
            v.push("default_product", format!("'{}' is not a product of the catalog", self.default_product));
        }
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (pname, product) in &self.products {
            let pfield = format!("products.{pname}");
            if !naming::is_slug(pname) || pname.len() > 32 {
                v.push(&pfield, "product names are slugs of at most 32 characters");
            }
            if product.services.is_empty() {
                v.push(&pfield, "a product runs at least one service");
            }
            if product.services.values().filter(|s| s.is_catch_all()).count() > 1 {
                v.push(&pfield, "at most one service per product may take the whole host (a port without path_patterns)");
            }
            if product.host == ProductHost::Own && !product.services.values().any(|s| s.port.is_some()) {
                v.push(format!("{pfield}.host"), "a product on a host of its own serves something there: give a service a port");
            }
            for (field, rule) in product.access.violations() {
                v.push(format!("{pfield}.{field}"), rule);
            }
            for (sname, s) in &product.services {
                let f = format!("{pfield}.services.{sname}");
                for (k, arn) in &s.secrets {
                    if !naming::is_secret_arn(arn) {
                        v.push(
                            format!("{f}.secrets.{k}"),
                            "must be the ARN of a Secrets Manager secret or an SSM parameter (the value is not shown)",
                        );
                    }
                }
                if let Some(other) = seen.insert(sname, pname) {
                    v.push(&f, format!("service name also used by product '{other}': service names are unique in the catalog"));
                }
                check_service(&f, sname, s, &mut v);
            }
        }
        self.check_tiers(&mut v);
        v
    }

    fn check_tiers(&self, v: &mut Violations) {
        match &self.default_tier {
            Some(t) if !self.tiers.contains_key(t) => v.push("default_tier", format!("'{t}' is not a tier of the catalog")),
            None if !self.tiers.is_empty() => v.push("default_tier", "required: the tier of a request that names none"),
            _ => {}
        }
        for (tname, tier) in &self.tiers {
            let tf = format!("tiers.{tname}");
            if !naming::is_slug(tname) || tname.len() > 32 {
                v.push(&tf, "tier names are slugs of at most 32 characters");
            }
            if tier.products.is_empty() {
                v.push(format!("{tf}.products"), "a tier allows at least one product");
            }
            for (i, p) in tier.products.iter().enumerate() {
                if !self.products.contains_key(p) {
                    v.push(format!("{tf}.products[{i}]"), format!("'{p}' is not a product of the catalog"));
                }
            }
            if tier.max_desired_count > MAX_DESIRED_COUNT {
                v.push(format!("{tf}.max_desired_count"), format!("must be at most {MAX_DESIRED_COUNT}"));
            }
            if tier.max_cpu > naming::FARGATE_MAX_CPU || tier.max_memory > naming::FARGATE_MAX_MEMORY {
                v.push(
                    &tf,
                    format!("max_cpu and max_memory are at most Fargate's {} and {}", naming::FARGATE_MAX_CPU, naming::FARGATE_MAX_MEMORY),
                );
            }
            for (part, names) in
                [("services", tier.services.keys().collect::<Vec<_>>()), ("autoscaling", tier.autoscaling.keys().collect())]
            {
                for sname in names {
                    if !self.service(sname).is_some_and(|(p, _)| tier.products.iter().any(|t| t == p)) {
                        v.push(format!("{tf}.{part}.{sname}"), "not a service of a product this tier allows");
                    }
                }
            }
            for (sname, a) in &tier.autoscaling {
                let f = format!("{tf}.autoscaling.{sname}");
                if a.min == 0 || a.min > a.max || a.max > tier.max_desired_count {
                    v.push(&f, format!("1 <= min <= max <= the tier's max_desired_count ({})", tier.max_desired_count));
                }
                if !CPU_TARGETS.contains(&a.cpu_target) {
                    v.push(format!("{f}.cpu_target"), format!("must be {}-{} (percent)", CPU_TARGETS.start(), CPU_TARGETS.end()));
                }
            }
            // Every service the tier allows, at the tier's size, is a Fargate task within its
            // own bounds.
            for p in tier.products.iter().filter_map(|p| self.products.get(p)) {
                for (sname, spec) in &p.services {
                    let z = Catalog::sizing(Some(tier), sname, spec);
                    let f = format!("{tf}.services.{sname}");
                    if !naming::is_fargate_size(z.cpu, z.memory) {
                        v.push(format!("{f}.cpu"), format!("cpu {} with memory {} is not a Fargate task size", z.cpu, z.memory));
                    }
                    if z.cpu > z.max_cpu || z.memory > z.max_memory || z.desired_count > z.max_desired_count {
                        v.push(&f, "its size and count must be within the tier's max_cpu, max_memory and max_desired_count");
                    }
                    if z.autoscaling.is_some_and(|a| !(a.min..=a.max).contains(&z.desired_count)) {
                        v.push(format!("{f}.desired_count"), "must be within the tier's autoscaling bounds for the service");
                    }
                }
            }
        }
    }
}

fn check_service(f: &str, name: &str, s: &ServiceSpec, v: &mut Violations) {
    if !naming::is_slug(name) || name.len() > 20 {
        v.push(f, "service names are slugs of at most 20 characters");
    }
    if !naming::is_repository_name(&s.repository) {
        v.push(format!("{f}.repository"), "must be an image repository name (lowercase, '/'-separated)");
    }
    if !naming::is_fargate_size(s.cpu, s.memory) {
        v.push(format!("{f}.cpu"), format!("cpu {} with memory {} is not a Fargate task size", s.cpu, s.memory));
    }
    if s.desired_count > MAX_DESIRED_COUNT {
        v.push(format!("{f}.desired_count"), format!("must be at most {MAX_DESIRED_COUNT}"));
    }
    match s.port {
        Some(0) => v.push(format!("{f}.port"), "must be 1-65535"),
        Some(_) => match &s.health_check_path {
            Some(p) if p.starts_with('/') && p.len() <= 1024 && p.is_ascii() => {}
            _ => v.push(
                format!("{f}.health_check_path"),
                "a service with a port needs a health check path starting with '/' (at most 1024 ASCII characters)",
            ),
        },
        None => {
            if !s.path_patterns.is_empty() {
                v.push(format!("{f}.path_patterns"), "a service without a port takes no paths");
            }
            if s.health_check_path.is_some() {
                v.push(format!("{f}.health_check_path"), "a service without a port has no target group to health-check");
            }
        }
    }
    if s.path_patterns.len() > MAX_PATH_PATTERNS {
        v.push(
            format!("{f}.path_patterns"),
            format!("at most {MAX_PATH_PATTERNS}: a listener rule holds 5 condition values and the host takes one"),
        );
    }
    for (i, p) in s.path_patterns.iter().enumerate() {
        let ok = p.starts_with('/')
            && p.len() <= 128
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.$/~\"'@:+*?&".contains(&b))
            && p.matches(['*', '?']).count() <= 5;
        if !ok {
            v.push(
                format!("{f}.path_patterns[{i}]"),
                "must start with '/', be at most 128 characters of A-Z a-z 0-9 _-.$/~\"'@:+ and use at most 5 wildcards",
            );
        }
    }
    for name in s.environment.keys() {
        if !naming::is_env_name(name) {
            v.push(format!("{f}.environment.{name}"), "not a valid environment variable name");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalog_is_valid() {
        let c = Catalog::parse(DEFAULT_CATALOG).expect("valid");
        assert_eq!(c.default_product, "webapp");
        let web = &c.products["webapp"];
        let api = &web.services["api"];
        assert_eq!(api.port, Some(3001));
        assert_eq!(api.path_patterns, vec!["/api/*"]);
        assert_eq!(api.health_check_path.as_deref(), Some("/health"));
        assert_eq!(web.services["worker"].port, None);
        assert!(web.services["frontend"].is_catch_all());
        assert_eq!(web.services["frontend"].port, Some(3000));
        for product in c.products.values() {
            for (name, s) in &product.services {
                assert!(naming::is_fargate_size(s.cpu, s.memory), "{name}");
                assert!(
                    naming::target_group_name(naming::DEFAULT_NAME_PREFIX, "a-forty-character-customer-id-abcdefghi", name).len() <= 32
                );
            }
        }
    }

    #[test]
    fn broken_catalogs_are_rejected_with_fields() {
        let text = r#"
default_product = "nope"
[products.p.services.a]
repository = "r/a"
port = 80
cpu = 256
memory = 4096
desired_count = 50
path_patterns = ["/a", "/b", "/c", "/d", "/e"]
[products.q.services.a]
repository = "R"
cpu = 256
memory = 512
desired_count = 1
path_patterns = ["/x"]
"#;
        let v = Catalog::parse(text).unwrap_err();
        let fields = v.fields();
        for f in [
            "default_product",
            "products.p.services.a.cpu",
            "products.p.services.a.desired_count",
            "products.p.services.a.health_check_path",
            "products.p.services.a.path_patterns",
            "products.q.services.a",
            "products.q.services.a.repository",
        ] {
            assert!(fields.contains(&f), "missing {f} in {v}");
        }
    }

    #[test]
    fn shipped_tiers_bound_their_services() {
        let c = Catalog::builtin();
        let (name, basic) = c.tier(Some("basic")).expect("known").expect("tiers");
        assert_eq!((name, basic.products.as_slice()), ("basic", ["webapp".to_string()].as_slice()));
        let (default, _) = c.tier(None).expect("default").expect("tiers");
        assert_eq!(Some(default), c.default_tier.as_deref());
        assert!(c.tier(Some("gold")).unwrap_err().contains("unknown tier 'gold' (known: basic, enterprise, standard)"));
        let (_, api) = c.service("api").expect("api");
        let enterprise = &c.tiers["enterprise"];
        let z = Catalog::sizing(Some(enterprise), "api", api);
        assert!(z.cpu > api.cpu && z.desired_count > api.desired_count, "{z:?}");
        let none = Catalog::sizing(None, "api", api);
        assert_eq!((none.cpu, none.max_desired_count), (api.cpu, MAX_DESIRED_COUNT));
    }

    #[test]
    fn broken_tiers_are_rejected_with_fields() {
        let text = r#"
default_product = "p"
default_tier = "gold"
[tiers.t]
products = ["p", "nope"]
max_cpu = 256
max_memory = 512
max_desired_count = 30
[tiers.t.services.a]
cpu = 512
[tiers.t.services.zz]
cpu = 256
[tiers.t.autoscaling.a]
min = 0
max = 2
cpu_target = 95
[products.p.services.a]
repository = "r/a"
cpu = 256
memory = 512
desired_count = 1
"#;
        let v = Catalog::parse(text).unwrap_err();
        let fields = v.fields();
        for f in [
            "default_tier",
            "tiers.t.products[1]",
            "tiers.t.max_desired_count",
            "tiers.t.services.zz",
            "tiers.t.services.a.cpu",
            "tiers.t.services.a",
        ] {
            assert!(fields.contains(&f), "missing {f} in {v}");
        }
        let no_default = "default_product = \"p\"\n[tiers.t]\nproducts = [\"p\"]\nmax_cpu = 256\nmax_memory = 512\nmax_desired_count = 1\n[products.p.services.a]\nrepository = \"r/a\"\ncpu = 256\nmemory = 512\ndesired_count = 1\n";
        assert_eq!(Catalog::parse(no_default).unwrap_err().fields(), vec!["default_tier"]);
    }

    #[test]
    fn two_catch_alls_in_one_product_are_rejected() {
        let text = r#"
default_product = "p"
[products.p.services.a]
repository = "r/a"
port = 80
health_check_path = "/"
cpu = 256
memory = 512
desired_count = 1
[products.p.services.b]
repository = "r/b"
port = 81
health_check_path = "/"
cpu = 256
memory = 512
desired_count = 1
"#;
        let v = Catalog::parse(text).unwrap_err();
        assert_eq!(v.fields(), vec!["products.p"]);
    }
}

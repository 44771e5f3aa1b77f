//! The product catalog (`catalog/products.toml`): products and the services they run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    pub products: BTreeMap<String, Product>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    #[serde(default)]
    pub description: String,
    pub services: BTreeMap<String, ServiceSpec>,
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
            for (sname, s) in &product.services {
                let f = format!("{pfield}.services.{sname}");
                if let Some(other) = seen.insert(sname, pname) {
                    v.push(&f, format!("service name also used by product '{other}': service names are unique in the catalog"));
                }
                check_service(&f, sname, s, &mut v);
            }
        }
        v
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

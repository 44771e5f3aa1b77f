//! Every AWS name berth derives for a customer, and the AWS limits they must respect.
//! Names that could exceed a limit are shortened with a stable hash suffix, so two
//! different (customer, service) pairs never get the same name.

/// Target group names: at most 32 characters, alphanumerics and hyphens, no leading or
/// trailing hyphen, must not start with `internal-`.
pub const TARGET_GROUP_NAME_MAX: usize = 32;
/// ECS service names and task definition families: at most 255 characters.
pub const ECS_NAME_MAX: usize = 255;
/// CloudWatch Logs group names: at most 512 characters.
pub const LOG_GROUP_NAME_MAX: usize = 512;
/// CreateService `clientToken`: at most 36 characters.
pub const CLIENT_TOKEN_MAX: usize = 36;
/// A DNS label: at most 63 characters; a full name at most 253.
pub const DNS_LABEL_MAX: usize = 63;
pub const DNS_NAME_MAX: usize = 253;
/// Tag values: at most 256 characters.
pub const TAG_VALUE_MAX: usize = 256;

/// Tag keys berth puts on everything it creates.
pub const TAG_CUSTOMER: &str = "berth:customer";
pub const TAG_MANAGED_BY: &str = "managed-by";
pub const TAG_SERVICE: &str = "berth:service";
pub const MANAGED_BY_VALUE: &str = "berth";

/// 64-bit FNV-1a: small, stable across releases and platforms (names depend on it).
pub fn fnv1a64(data: &[u8], seed: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A lowercase hex digest of `len` characters (at most 32) over the given parts.
pub fn short_hash(parts: &[&str], len: usize) -> String {
    let joined = parts.join("\u{1f}");
    let a = fnv1a64(joined.as_bytes(), 0);
    let b = fnv1a64(joined.as_bytes(), 0x9e37_79b9_7f4a_7c15);
    format!("{a:016x}{b:016x}").chars().take(len.min(32)).collect()
}

/// The longest prefix of `s` that is at most `max` bytes and ends on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Fits `base` into `max` bytes: unchanged if it fits, else a prefix, a hyphen and an
/// 8-character hash of the full `base`. The result never ends with a hyphen before the hash,
/// and never cuts a character in two.
pub fn fit(base: &str, max: usize) -> String {
    if base.len() <= max {
        return base.to_string();
    }
    let hash = short_hash(&[base], 8);
    let keep = max.saturating_sub(hash.len() + 1);
    let prefix = truncate(base, keep).trim_end_matches('-');
    format!("{prefix}-{hash}")
}

/// The prefix of berth's names when the deployment sets none.
pub const DEFAULT_NAME_PREFIX: &str = "berth";
/// A name prefix is short, so a target group name (32 characters) keeps it whole.
pub const NAME_PREFIX_MAX: usize = 12;

/// True for a name prefix: a slug of 1-12 characters.
pub fn is_name_prefix(s: &str) -> bool {
    s.len() <= NAME_PREFIX_MAX && is_slug(s)
}

/// The target group name of a customer's service, unique per (customer, service):
/// `{prefix}-{customer}-{service}`, hashed within 32 characters.
pub fn target_group_name(prefix: &str, customer: &str, service: &str) -> String {
    fit(&format!("{prefix}-{customer}-{service}"), TARGET_GROUP_NAME_MAX)
}

/// The log group of a customer: one for all of its services, whose containers write their
/// own streams in it (stream prefix: the service's name).
pub fn log_group_name(prefix: &str, customer: &str) -> String {
    fit(&format!("/{prefix}/{customer}"), LOG_GROUP_NAME_MAX)
}

/// The task definition family of a customer's service.
pub fn task_family(prefix: &str, customer: &str, service: &str) -> String {
    fit(&format!("{prefix}-{customer}-{service}"), ECS_NAME_MAX)
}

/// The ECS service name of a customer's service on the shared cluster.
pub fn ecs_service_name(prefix: &str, customer: &str, service: &str) -> String {
    fit(&format!("{prefix}-{customer}-{service}"), ECS_NAME_MAX)
}

/// The CreateService client token: stable for one execution of one (customer, service), so
/// a retried call is idempotent, and new for the next execution.
pub fn client_token(customer: &str, service: &str, execution: &str) -> String {
    short_hash(&[customer, service, execution], 32)
}

/// The customer's host name.
pub fn host(customer: &str, domain: &str) -> String {
    format!("{customer}.{domain}")
}

/// How a product served on a host of its own is named (`BERTH_PRODUCT_HOST_FORM`), which
/// decides the certificates the customer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostForm {
    /// `{product}-{customer}.{domain}`: one label under the domain, which the deployment's
    /// wildcard certificate `*.{domain}` covers. Customer ids may then not start with an
    /// own-host product's name and a hyphen (the hosts would meet).
    #[default]
    Dashed,
    /// `{product}.{customer}.{domain}`: two labels deep, which `*.{domain}` does not cover:
    /// each customer with a product on its own host needs `*.{customer}.{domain}` on the
    /// listener, one of the ALB's certificates.
    Dotted,
}

impl HostForm {
    pub const ALL: [HostForm; 2] = [HostForm::Dashed, HostForm::Dotted];

    pub const fn as_str(self) -> &'static str {
        match self {
            HostForm::Dashed => "dashed",
            HostForm::Dotted => "dotted",
        }
    }

    pub fn parse(s: &str) -> Option<HostForm> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub const fn describe(self) -> &'static str {
        match self {
            HostForm::Dashed => "`{product}-{customer}.{domain}` (the wildcard covers it)",
            HostForm::Dotted => "`{product}.{customer}.{domain}` (a certificate per customer)",
        }
    }

    /// The host of a customer's product served on a host of its own.
    pub fn product_host(self, product: &str, customer: &str, domain: &str) -> String {
        match self {
            HostForm::Dashed => format!("{product}-{customer}.{domain}"),
            HostForm::Dotted => format!("{product}.{customer}.{domain}"),
        }
    }

    /// The certificate domain the customer's own-host products need on the listener, beyond
    /// the deployment's wildcard (none for the dashed form).
    pub fn customer_certificate(self, customer: &str, domain: &str) -> Option<String> {
        match self {
            HostForm::Dashed => None,
            HostForm::Dotted => Some(format!("*.{customer}.{domain}")),
        }
    }
}

/// True for an ACM certificate ARN: `arn:{partition}:acm:{region}:{12 digits}:certificate/{id}`
/// with an id of letters, digits and hyphens.
pub fn is_acm_certificate_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts.as_slice() else { return false };
    let id = resource.strip_prefix("certificate/").unwrap_or_default();
    *arn == "arn"
        && partition.starts_with("aws")
        && *service == "acm"
        && !region.is_empty()
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// True for a DNS-safe slug: lowercase letters, digits and single hyphens, starting with a
/// letter and ending with a letter or digit.
pub fn is_slug(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// Step Functions execution names: at most 80 characters of letters, digits, '-' and '_'.
pub const EXECUTION_NAME_MAX: usize = 80;
/// Long enough for a UUID; short enough that a 40-character customer id and the key fit an
/// execution name.
pub const IDEMPOTENCY_KEY_MAX: usize = 36;

/// True for an idempotency key: 1-36 letters, digits, '-' and '_'.
pub fn is_idempotency_key(s: &str) -> bool {
    !s.is_empty() && s.len() <= IDEMPOTENCY_KEY_MAX && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The onboarding execution's name for a customer and an idempotency key:
/// `{customer_id}_{key}`. Customer ids have no '_', so two different (customer, key) pairs
/// never share a name, and a valid pair always fits the 80-character limit.
pub fn execution_name(customer: &str, key: &str) -> String {
    format!("{customer}_{key}")
}

/// The ARN an execution named `name` of the state machine has.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!("{}:{name}", state_machine_arn.replacen(":stateMachine:", ":execution:", 1))
}

/// True for a valid DNS domain (labels are slugs or digits-first labels, total within 253).
pub fn is_domain(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    s.len() <= DNS_NAME_MAX
        && s.split('.').count() >= 2
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= DNS_LABEL_MAX
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Valid Fargate task sizes: cpu units and the memory (MiB) range and step allowed for it.
pub const FARGATE_SIZES: [(u32, u32, u32, u32); 7] = [
    (256, 512, 2048, 512),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// The largest task Fargate runs: cpu units and memory (MiB).
pub const FARGATE_MAX_CPU: u32 = 16384;
pub const FARGATE_MAX_MEMORY: u32 = 122880;

/// True when (cpu, memory) is a task size Fargate accepts.
pub fn is_fargate_size(cpu: u32, memory: u32) -> bool {
    FARGATE_SIZES.iter().any(|&(c, lo, hi, step)| c == cpu && memory >= lo && memory <= hi && (memory - lo).is_multiple_of(step))
}

/// True for an ECR repository name (`a/b-c`, lowercase, at most 256 characters).
pub fn is_repository_name(s: &str) -> bool {
    s.len() >= 2
        && s.len() <= 256
        && s.split('/').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && part.as_bytes()[0].is_ascii_alphanumeric()
                && part.as_bytes()[part.len() - 1].is_ascii_alphanumeric()
        })
}

/// True for an image tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`) or a `sha256:` digest.
pub fn is_image_reference(s: &str) -> bool {
    if let Some(hex) = s.strip_prefix("sha256:") {
        return hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    }
    !s.is_empty()
        && s.len() <= 128
        && (s.as_bytes()[0].is_ascii_alphanumeric() || s.as_bytes()[0] == b'_')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// True for a container environment variable name.
pub fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && (s.as_bytes()[0].is_ascii_alphabetic() || s.as_bytes()[0] == b'_')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// True for a target group name: 1-32 letters, digits and hyphens, no hyphen at either end,
/// not starting with `internal-`.
pub fn is_target_group_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= TARGET_GROUP_NAME_MAX
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.starts_with("internal-")
}

/// True for an ECS service name or task definition family: 1-255 letters, digits, hyphens
/// and underscores.
pub fn is_ecs_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= ECS_NAME_MAX && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// True for a CloudWatch Logs group name: 1-512 of letters, digits and `_-/.#`.
pub fn is_log_group_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= LOG_GROUP_NAME_MAX && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-/.#".contains(&b))
}

/// True for text that holds no control characters and is at most `max` characters.
pub fn is_plain_text(s: &str, max: usize) -> bool {
    s.chars().count() <= max && !s.chars().any(char::is_control)
}

/// True for a secret reference a task definition can use as `valueFrom`: the ARN of a
/// Secrets Manager secret or of an SSM parameter.
pub fn is_secret_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || !parts[1].starts_with("aws") {
        return false;
    }
    let region_ok = !parts[3].is_empty() && parts[3].bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_ok = parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit());
    let resource = parts[5];
    let resource_ok = match parts[2] {
        "secretsmanager" => resource.strip_prefix("secret:").is_some_and(|r| !r.is_empty()),
        "ssm" => resource.strip_prefix("parameter/").is_some_and(|r| !r.is_empty()),
        _ => false,
    };
    region_ok && account_ok && resource_ok && s.len() <= 2048 && !s.chars().any(char::is_whitespace)
}

/// True when a secret reference is the customer's own: a Secrets Manager secret named
/// `{customer}/…`, or an SSM parameter under `/{customer}/` (its ARN reads
/// `parameter/{customer}/…`). The customer's role may read exactly what its request names, so
/// a request may name only the customer's own.
pub fn is_customers_secret(arn: &str, customer: &str) -> bool {
    let Some(resource) = arn.splitn(6, ':').nth(5) else { return false };
    let name = resource.strip_prefix("secret:").or_else(|| resource.strip_prefix("parameter/"));
    name.and_then(|n| n.strip_prefix(customer)).is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
}

/// True when a plain value carries credentials: a URL with a password in its user info
/// (`postgres://app:hunter2@db/app`), a PEM private key, or an AWS access key id.
pub fn carries_credentials(value: &str) -> bool {
    let url_password = value.match_indices("://").any(|(i, _)| {
        let rest = value.get(i + 3..).unwrap_or_default();
        let authority = rest.split(['/', '?', '#', ' ', '\n']).next().unwrap_or_default();
        authority.rsplit_once('@').is_some_and(|(user_info, _)| user_info.split_once(':').is_some_and(|(_, pw)| !pw.is_empty()))
    });
    let private_key = value.contains("PRIVATE KEY-----");
    let access_key = value
        .as_bytes()
        .windows(20)
        .any(|w| (w.starts_with(b"AKIA") || w.starts_with(b"ASIA")) && w.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    url_password || private_key || access_key
}

/// True when a certificate for `names` (its domain name and alternative names) serves
/// `hostname`: one of them is the hostname, or a wildcard `*.{parent}` whose parent is the
/// hostname's (a wildcard covers one label, no more). Case-insensitive; a trailing dot is
/// ignored.
pub fn certificate_covers(names: &[String], hostname: &str) -> bool {
    let host = hostname.trim_end_matches('.').to_ascii_lowercase();
    names.iter().any(|n| {
        let n = n.trim_end_matches('.').to_ascii_lowercase();
        match n.strip_prefix("*.") {
            Some(parent) => host.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
            None => n == host,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_covers_its_names_and_one_label_under_its_wildcards() {
        let names = vec!["shop.acme.example".to_string(), "*.acme-corp.example".to_string()];
        for covered in ["shop.acme.example", "SHOP.acme.example.", "www.acme-corp.example"] {
            assert!(certificate_covers(&names, covered), "{covered}");
        }
        for not in ["acme.example", "www.shop.acme.example", "acme-corp.example", "a.b.acme-corp.example", "shop.acme.example.org"] {
            assert!(!certificate_covers(&names, not), "{not}");
        }
        assert!(!certificate_covers(&[], "shop.acme.example"));
    }

    #[test]
    fn execution_names_are_unique_and_fit() {
        assert_eq!(execution_name("acme", "req-1"), "acme_req-1");
        // A hyphen in either part cannot make two pairs collide: '_' only separates.
        assert_ne!(execution_name("a-b", "c"), execution_name("a", "b-c"));
        let longest = execution_name(&"a".repeat(40), &"k".repeat(IDEMPOTENCY_KEY_MAX));
        assert!(longest.len() <= EXECUTION_NAME_MAX, "{}", longest.len());
        assert!(is_idempotency_key("0b6f1c1e-5d0a-4c4e-9a57-3c1f0c2d7e11"));
        assert!(!is_idempotency_key(""));
        assert!(!is_idempotency_key("has space"));
        assert!(!is_idempotency_key(&"k".repeat(IDEMPOTENCY_KEY_MAX + 1)));
        assert_eq!(
            execution_arn("arn:aws:states:us-east-1:123456789012:stateMachine:berth-onboard", "acme_k1"),
            "arn:aws:states:us-east-1:123456789012:execution:berth-onboard:acme_k1"
        );
    }
    use proptest::prelude::*;

    #[test]
    fn short_names_are_kept() {
        assert_eq!(target_group_name("berth", "acme", "api"), "berth-acme-api");
        assert_eq!(log_group_name("berth", "acme"), "/berth/acme");
        assert_eq!(task_family("berth", "acme", "frontend"), "berth-acme-frontend");
        assert_eq!(ecs_service_name("berth", "acme", "worker"), "berth-acme-worker");
        assert_eq!(ecs_service_name("saas2", "acme", "worker"), "saas2-acme-worker");
        assert_eq!(host("acme", "example.com"), "acme.example.com");
    }

    #[test]
    fn long_target_group_names_are_hashed_within_32() {
        let a = target_group_name("berth", "a-very-long-customer-name-indeed", "frontend");
        let b = target_group_name("berth", "a-very-long-customer-name-indeed", "frontend2");
        assert!(a.starts_with("berth-") && b.starts_with("berth-"), "the prefix survives shortening: {a} {b}");
        assert!(a.len() <= 32 && b.len() <= 32, "{a} {b}");
        assert_ne!(a, b);
        assert!(!a.ends_with('-') && !a.starts_with('-'));
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
    }

    #[test]
    fn client_tokens_fit_and_differ_per_execution() {
        let t1 = client_token("acme", "api", "exec-1");
        let t2 = client_token("acme", "api", "exec-2");
        assert!(t1.len() <= CLIENT_TOKEN_MAX);
        assert_ne!(t1, t2);
        assert_eq!(t1, client_token("acme", "api", "exec-1"));
    }

    #[test]
    fn hashes_are_stable_across_releases() {
        // Names already created in AWS depend on these values: they must never change.
        assert_eq!(short_hash(&["acme"], 8), short_hash(&["acme"], 8));
        assert_eq!(fnv1a64(b"", 0), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a", 0), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn fargate_sizes() {
        assert!(is_fargate_size(256, 512));
        assert!(is_fargate_size(256, 2048));
        assert!(!is_fargate_size(256, 4096));
        assert!(is_fargate_size(1024, 3072));
        assert!(!is_fargate_size(1024, 1024));
        assert!(!is_fargate_size(300, 1024));
        assert!(is_fargate_size(4096, 30720));
        assert!(!is_fargate_size(8192, 18432));
    }

    #[test]
    fn slugs_domains_and_references() {
        assert!(is_slug("acme-2"));
        for bad in ["", "Acme", "2acme", "acme-", "ac--me", "ac_me", "ac.me"] {
            assert!(!is_slug(bad), "{bad}");
        }
        assert!(is_domain("apps.example.com"));
        assert!(!is_domain("example"));
        assert!(!is_domain("-x.example.com"));
        assert!(is_image_reference("1.4.2"));
        assert!(is_image_reference(&format!("sha256:{}", "a".repeat(64))));
        assert!(!is_image_reference("-bad"));
        assert!(!is_image_reference("has space"));
        assert!(is_secret_arn("arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/db-AbCdEf"));
        assert!(is_secret_arn("arn:aws:ssm:us-east-1:123456789012:parameter/acme/db"));
        assert!(!is_secret_arn("hunter2"));
        assert!(!is_secret_arn("arn:aws:s3:::bucket/key"));
        assert!(is_customers_secret("arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/db-AbCdEf", "acme"));
        assert!(is_customers_secret("arn:aws:ssm:us-east-1:123456789012:parameter/acme/db", "acme"));
        assert!(!is_customers_secret("arn:aws:secretsmanager:us-east-1:123456789012:secret:acme-two/db-AbCdEf", "acme"));
        assert!(!is_customers_secret("arn:aws:secretsmanager:us-east-1:123456789012:secret:globex/db-AbCdEf", "acme"));
        assert!(!is_customers_secret("arn:aws:ssm:us-east-1:123456789012:parameter/acme", "acme"));
        assert!(!is_customers_secret("arn:aws:ssm:us-east-1:123456789012:parameter/shared/acme/db", "acme"));
        assert!(is_repository_name("webapp/backend-api"));
        assert!(!is_repository_name("Webapp"));
    }

    #[test]
    fn multibyte_names_are_shortened_without_panicking() {
        // 30 'ü' are 60 bytes: the cut lands inside a character unless it looks for a boundary.
        let umlauts = "ü".repeat(30);
        let n = target_group_name("berth", &umlauts, "api");
        assert!(n.len() <= TARGET_GROUP_NAME_MAX, "{n}");
        for max in 0..70 {
            assert!(truncate(&umlauts, max).len() <= max);
        }
        assert_eq!(fit("short", 32), "short");
    }

    #[test]
    fn credentials_in_values() {
        for bad in [
            "postgres://app:hunter2@db.internal:5432/app",
            "https://user:p%40ss@example.com",
            "redis://:secret@cache:6379",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIB",
            "key=AKIAIOSFODNN7EXAMPLE",
        ] {
            assert!(carries_credentials(bad), "{bad}");
        }
        for good in
            ["https://example.com/a@b", "ssh://git@github.com/x.git", "postgres://db:5432/app", "mailto:a@b.c", "info", "user@host:path"]
        {
            assert!(!carries_credentials(good), "{good}");
        }
    }

    #[test]
    fn name_prefixes() {
        assert!(is_name_prefix("berth"));
        assert!(is_name_prefix("b2"));
        for bad in ["", "Berth", "berth-", "a-very-long-prefix", "2b", "bé"] {
            assert!(!is_name_prefix(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn fit_never_panics_and_fits(base in "\\PC{0,80}", max in 10usize..80) {
            let n = fit(&base, max);
            prop_assert!(n.len() <= max || base.len() <= max);
        }

        #[test]
        fn target_group_names_always_valid(customer in "[a-z][a-z0-9]{0,20}(-[a-z0-9]{1,10}){0,3}", service in "[a-z][a-z0-9-]{0,18}[a-z0-9]") {
            let n = target_group_name(DEFAULT_NAME_PREFIX, &customer, &service);
            prop_assert!(n.starts_with("berth-"));
            prop_assert!(n.len() <= TARGET_GROUP_NAME_MAX);
            prop_assert!(!n.starts_with('-') && !n.ends_with('-'));
            prop_assert!(n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
        }

        #[test]
        fn distinct_pairs_get_distinct_target_groups(a in "[a-z][a-z0-9]{20,40}", b in "[a-z][a-z0-9]{20,40}", s in "[a-z]{3,8}") {
            prop_assume!(a != b);
            prop_assert_ne!(target_group_name("berth", &a, &s), target_group_name("berth", &b, &s));
        }
    }
}

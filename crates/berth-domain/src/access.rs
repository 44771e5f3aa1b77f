//! What a customer's tasks may reach, and nothing more: the customer's own IAM role (the
//! one policy berth writes for it, and the trust that lets only ECS tasks of the account
//! take it) and the customer's own security group (reachable from the ALBs only, on its
//! services' ports).
//!
//! One role per customer serves as both the task execution role (ECS pulls the images,
//! writes the customer's log group and reads its secrets with it) and the task role (the
//! customer's code runs with it). A pair per customer would halve how many customers an
//! account holds (IAM roles: 1,000 per account by default, 5,000 at most) and would keep
//! from the customer's code only what ECS hands it anyway: its own secrets, its own log
//! streams and the catalog's images.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::naming;
use crate::plan::Plan;

/// The path of every role berth makes: berth's own IAM permissions reach no role outside it.
pub fn role_path(prefix: &str) -> String {
    format!("/{prefix}/")
}

/// IAM role names: at most 64 characters.
pub const ROLE_NAME_MAX: usize = 64;
/// Security group names: at most 255 characters.
pub const SECURITY_GROUP_NAME_MAX: usize = 255;
/// The name of the inline policy berth puts on a customer's role.
pub const ROLE_POLICY_NAME: &str = "berth-customer";
/// IAM's quota on the inline policies of one role, in characters without whitespace.
pub const ROLE_POLICY_SIZE_MAX: usize = 10_240;
/// Inbound rules per security group (a VPC quota, 60 by default).
pub const INGRESS_RULES_MAX: usize = 60;
/// The principal that takes a customer's role.
pub const TASKS_PRINCIPAL: &str = "ecs-tasks.amazonaws.com";

/// The customer's role: `{prefix}-{customer}` under `/{prefix}/`.
pub fn role_name(prefix: &str, customer: &str) -> String {
    naming::fit(&format!("{prefix}-{customer}"), ROLE_NAME_MAX)
}

/// The customer's security group: `{prefix}-{customer}`.
pub fn security_group_name(prefix: &str, customer: &str) -> String {
    naming::fit(&format!("{prefix}-{customer}"), SECURITY_GROUP_NAME_MAX)
}

/// What a product's code may reach of the customer's data: only the customer's part of each,
/// by its id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// Objects under `{customer}/` in these S3 buckets (and listing that prefix).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub s3_buckets: Vec<String>,
    /// Items whose partition key is the customer's id in these DynamoDB tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamodb_tables: Vec<String>,
}

impl Access {
    pub fn is_empty(&self) -> bool {
        self.s3_buckets.is_empty() && self.dynamodb_tables.is_empty()
    }

    /// Both, each name once, sorted.
    pub fn union(&self, other: &Access) -> Access {
        let merge =
            |a: &[String], b: &[String]| -> Vec<String> { a.iter().chain(b).cloned().collect::<BTreeSet<String>>().into_iter().collect() };
        Access {
            s3_buckets: merge(&self.s3_buckets, &other.s3_buckets),
            dynamodb_tables: merge(&self.dynamodb_tables, &other.dynamodb_tables),
        }
    }

    /// Each rule a name breaks, as (field, rule).
    pub fn violations(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        for b in &self.s3_buckets {
            if !is_bucket_name(b) {
                v.push(("access.s3_buckets".to_string(), format!("'{b}' is not an S3 bucket name (3 to 63 of a-z, 0-9, '.', '-')")));
            }
        }
        for t in &self.dynamodb_tables {
            if !is_table_name(t) {
                v.push((
                    "access.dynamodb_tables".to_string(),
                    format!("'{t}' is not a DynamoDB table name (3 to 255 of A-Z, a-z, 0-9, '_', '-', '.')"),
                ));
            }
        }
        v
    }
}

fn is_bucket_name(s: &str) -> bool {
    (3..=63).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
}

fn is_table_name(s: &str) -> bool {
    (3..=255).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Where the customer's role lives: the partition, account and region its policy's ARNs
/// name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub partition: String,
    pub id: String,
    pub region: String,
}

impl Account {
    /// The longest ARNs any deployment writes: for sizing a policy before the account is known.
    pub fn widest() -> Account {
        Account { partition: "aws-iso-b".into(), id: "000000000000".into(), region: "ap-southeast-55".into() }
    }
}

/// The ARN of the ECR repository an image reference is in (`{account}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}`
/// or `@{digest}`); `None` for an image in another registry.
pub fn ecr_repository_arn(image: &str, partition: &str) -> Option<String> {
    let (host, rest) = image.split_once('/')?;
    let labels: Vec<&str> = host.split('.').collect();
    let account = labels.first().filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))?;
    if labels.len() < 6 || labels[1] != "dkr" || labels[2] != "ecr" || labels[4] != "amazonaws" {
        return None;
    }
    let region = labels[3];
    let repository = match rest.split_once('@') {
        Some((repo, _digest)) => repo,
        None => match rest.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => repo,
            _ => rest,
        },
    };
    if repository.is_empty() {
        return None;
    }
    Some(format!("arn:{partition}:ecr:{region}:{account}:repository/{repository}"))
}

/// Who may take the customer's role: ECS tasks of this account in this region, nothing else.
pub fn trust_policy(account: &Account) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EcsTasksOfThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": TASKS_PRINCIPAL},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account.id},
                "ArnLike": {"aws:SourceArn": format!("arn:{}:ecs:{}:{}:*", account.partition, account.region, account.id)}
            }
        }]
    })
}

/// The one policy of the customer's role, statement by statement: pull the catalog's images
/// (ECR's registry login is the one action that takes no resource), write the customer's
/// log groups, read exactly the secrets and parameters its services name, and reach the
/// customer's part of the buckets and tables its products name. Nothing else, and no
/// wildcard action.
pub fn role_policy(plan: &Plan, account: &Account) -> Value {
    let p = &account.partition;
    let mut statements = Vec::new();
    let repositories: BTreeSet<String> = plan.services.iter().filter_map(|s| ecr_repository_arn(&s.image, p)).collect();
    if !repositories.is_empty() {
        statements.push(json!({"Sid": "RegistryLogin", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"}));
        statements.push(json!({
            "Sid": "PullImages",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": repositories
        }));
    }
    let groups: BTreeSet<String> =
        plan.services.iter().map(|s| format!("arn:{p}:logs:{}:{}:log-group:{}:*", account.region, account.id, s.log_group)).collect();
    if !groups.is_empty() {
        statements.push(
            json!({"Sid": "WriteLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": groups}),
        );
    }
    let references: BTreeSet<&str> = plan.services.iter().flat_map(|s| s.secrets.values().map(String::as_str)).collect();
    let secrets: Vec<&str> = references.iter().copied().filter(|a| arn_service(a) == Some("secretsmanager")).collect();
    if !secrets.is_empty() {
        statements.push(json!({"Sid": "ReadSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secrets}));
    }
    let parameters: Vec<&str> = references.iter().copied().filter(|a| arn_service(a) == Some("ssm")).collect();
    if !parameters.is_empty() {
        statements.push(json!({"Sid": "ReadParameters", "Effect": "Allow", "Action": ["ssm:GetParameters"], "Resource": parameters}));
    }
    let customer = &plan.customer_id;
    if !plan.access.s3_buckets.is_empty() {
        let objects: Vec<String> = plan.access.s3_buckets.iter().map(|b| format!("arn:{p}:s3:::{b}/{customer}/*")).collect();
        let buckets: Vec<String> = plan.access.s3_buckets.iter().map(|b| format!("arn:{p}:s3:::{b}")).collect();
        statements.push(json!({
            "Sid": "CustomerObjects",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": objects
        }));
        statements.push(json!({
            "Sid": "ListCustomerPrefix",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": buckets,
            "Condition": {"StringLike": {"s3:prefix": [format!("{customer}/*")]}}
        }));
    }
    if !plan.access.dynamodb_tables.is_empty() {
        let tables: Vec<String> =
            plan.access.dynamodb_tables.iter().map(|t| format!("arn:{p}:dynamodb:{}:{}:table/{t}", account.region, account.id)).collect();
        statements.push(json!({
            "Sid": "CustomerItems",
            "Effect": "Allow",
            "Action": [
                "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
                "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"
            ],
            "Resource": tables,
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [customer]}}
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The size IAM counts a policy at: its JSON without whitespace.
pub fn policy_size(policy: &Value) -> usize {
    serde_json::to_string(policy).map(|s| s.len()).unwrap_or(usize::MAX)
}

fn arn_service(arn: &str) -> Option<&str> {
    arn.split(':').nth(2)
}

/// A security group rule: a protocol (`tcp`, or `-1` for all), a port range, and the peer (a
/// security group id, or an IPv4 or IPv6 CIDR).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Permission {
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub peer: String,
}

impl Permission {
    pub fn tcp(port: u16, peer: &str) -> Permission {
        Permission { protocol: "tcp".into(), from_port: i32::from(port), to_port: i32::from(port), peer: peer.to_string() }
    }

    pub fn all_to(cidr: &str) -> Permission {
        Permission { protocol: "-1".into(), from_port: -1, to_port: -1, peer: cidr.to_string() }
    }

    /// True when the peer is a security group (else a CIDR).
    pub fn peer_is_group(&self) -> bool {
        self.peer.starts_with("sg-")
    }

    pub fn label(&self) -> String {
        match self.protocol.as_str() {
            "-1" => format!("all traffic with {}", self.peer),
            p if self.from_port == self.to_port => format!("{p} {} with {}", self.from_port, self.peer),
            p => format!("{p} {}-{} with {}", self.from_port, self.to_port, self.peer),
        }
    }
}

/// What the customer's tasks may open connections to: a deployment setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Egress {
    /// Anywhere (AWS's default for a new security group).
    #[default]
    All,
    /// HTTPS (TCP 443) anywhere: image pulls, AWS APIs and third-party APIs, nothing else.
    Https,
    /// Nothing: only with VPC endpoints reachable otherwise.
    None,
}

impl Egress {
    pub const ALL: [Egress; 3] = [Egress::All, Egress::Https, Egress::None];

    pub const fn as_str(self) -> &'static str {
        match self {
            Egress::All => "all",
            Egress::Https => "https",
            Egress::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Egress> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The outbound rules of the setting.
    pub fn rules(self) -> BTreeSet<Permission> {
        let anywhere = ["0.0.0.0/0", "::/0"];
        match self {
            Egress::All => anywhere.iter().map(|c| Permission::all_to(c)).collect(),
            Egress::Https => anywhere.iter().map(|c| Permission::tcp(443, c)).collect(),
            Egress::None => BTreeSet::new(),
        }
    }
}

/// The inbound rules of the customer's group: from the ALBs' group, on each port a service of
/// the customer listens on behind a target group.
pub fn ingress(plan: &Plan, alb_group: &str) -> BTreeSet<Permission> {
    plan.services.iter().filter(|s| s.target_group.is_some()).filter_map(|s| s.port).map(|port| Permission::tcp(port, alb_group)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::request::OnboardingRequest;
    use crate::validate::tests::settings;
    use crate::validate::validate;

    fn account() -> Account {
        Account { partition: "aws".into(), id: "123456789012".into(), region: "us-east-1".into() }
    }

    /// Every service of the requested products gets an image tag unless the request gives one.
    fn complete(mut request: Value) -> Value {
        request["idempotency_key"] = json!("key-1");
        let catalog = Catalog::builtin();
        let products: Vec<String> = strings(&request["products"]);
        for p in products {
            for name in catalog.products[&p].services.keys() {
                if request["services"][name].is_null() {
                    request["services"][name] = json!({"image_tag": "1.0.0"});
                }
            }
        }
        request
    }

    fn plan_of(request: Value) -> Plan {
        let request = complete(request);
        let req = OnboardingRequest::from_json(request).unwrap_or_else(|e| panic!("{e}"));
        validate(&req, &Catalog::builtin(), &settings(), "arn:exec:1").unwrap_or_else(|v| panic!("{v}"))
    }

    fn statements(policy: &Value) -> Vec<&Value> {
        policy["Statement"].as_array().map(|a| a.iter().collect()).unwrap_or_default()
    }

    fn strings(v: &Value) -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    }

    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/database-url-AbCdEf";
    const PARAMETER: &str = "arn:aws:ssm:us-east-1:123456789012:parameter/acme/api-key";

    #[test]
    fn the_role_policy_is_the_customers_statement_by_statement() {
        let plan = plan_of(json!({
            "customer_id": "acme",
            "display_name": "Acme",
            "products": ["webapp", "reports", "crm"],
            "services": {"api": {"image_tag": "1.0.0", "secrets": {"DATABASE_URL": SECRET, "API_KEY": PARAMETER}}}
        }));
        let policy = role_policy(&plan, &account());
        assert_eq!(policy["Version"], "2012-10-17");
        let sids: Vec<&str> = statements(&policy).iter().filter_map(|s| s["Sid"].as_str()).collect();
        assert_eq!(
            sids,
            [
                "RegistryLogin",
                "PullImages",
                "WriteLogs",
                "ReadSecrets",
                "ReadParameters",
                "CustomerObjects",
                "ListCustomerPrefix",
                "CustomerItems"
            ]
        );
        for st in statements(&policy) {
            let sid = st["Sid"].as_str().unwrap_or_default();
            assert_eq!(st["Effect"], "Allow", "{sid}");
            assert!(st.get("NotAction").is_none() && st.get("NotResource").is_none(), "{sid}");
            for action in strings(&st["Action"]) {
                assert!(!action.contains('*'), "{sid}: wildcard action {action}");
            }
            let resources = strings(&st["Resource"]);
            assert!(!resources.is_empty(), "{sid}");
            match sid {
                // ECR's login token takes no resource; it opens no repository by itself.
                "RegistryLogin" => {
                    assert_eq!(strings(&st["Action"]), ["ecr:GetAuthorizationToken"]);
                    assert_eq!(resources, ["*"]);
                }
                "PullImages" => {
                    let wanted: BTreeSet<String> = plan
                        .services
                        .iter()
                        .map(|s| {
                            format!(
                                "arn:aws:ecr:us-east-1:123456789012:repository/{}",
                                s.image.split_once('/').map(|(_, r)| r.rsplit_once(':').map_or(r, |(r, _)| r)).unwrap_or_default()
                            )
                        })
                        .collect();
                    assert_eq!(resources.iter().cloned().collect::<BTreeSet<_>>(), wanted);
                }
                "WriteLogs" => assert_eq!(resources, ["arn:aws:logs:us-east-1:123456789012:log-group:/berth/acme:*"]),
                "ReadSecrets" => {
                    assert_eq!(strings(&st["Action"]), ["secretsmanager:GetSecretValue"]);
                    assert_eq!(resources, [SECRET]);
                }
                "ReadParameters" => {
                    assert_eq!(strings(&st["Action"]), ["ssm:GetParameters"]);
                    assert_eq!(resources, [PARAMETER]);
                }
                "CustomerObjects" => assert_eq!(resources, ["arn:aws:s3:::berth-reports/acme/*"]),
                "ListCustomerPrefix" => {
                    assert_eq!(resources, ["arn:aws:s3:::berth-reports"]);
                    assert_eq!(st["Condition"], json!({"StringLike": {"s3:prefix": ["acme/*"]}}));
                }
                "CustomerItems" => {
                    assert_eq!(resources, ["arn:aws:dynamodb:us-east-1:123456789012:table/berth-crm"]);
                    assert_eq!(st["Condition"], json!({"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["acme"]}}));
                }
                other => panic!("unexpected statement {other}"),
            }
            // Every resource is the customer's: its log group, its secrets, its prefix, its
            // partition (by condition), or one of the catalog's image repositories.
            let by_condition = st["Condition"].to_string().contains("\"acme");
            for r in &resources {
                let customers = r.contains("acme") || by_condition || sid == "PullImages" || sid == "RegistryLogin";
                assert!(customers, "{sid}: {r} is not the customer's");
            }
        }
        assert!(policy_size(&policy) <= ROLE_POLICY_SIZE_MAX);
    }

    #[test]
    fn a_customer_without_secrets_or_data_gets_images_and_logs_only() {
        let plan = plan_of(json!({"customer_id": "bravo", "display_name": "Bravo", "products": ["webapp"]}));
        let policy = role_policy(&plan, &account());
        let sids: Vec<&str> = statements(&policy).iter().filter_map(|s| s["Sid"].as_str()).collect();
        assert_eq!(sids, ["RegistryLogin", "PullImages", "WriteLogs"]);
        let text = policy.to_string();
        assert!(!text.contains("acme"), "another customer's name in bravo's policy");
    }

    #[test]
    fn two_customers_policies_share_nothing_of_theirs() {
        let a = plan_of(json!({"customer_id": "acme", "display_name": "A", "products": ["webapp", "reports", "crm"]}));
        let b = plan_of(json!({"customer_id": "bravo", "display_name": "B", "products": ["webapp", "reports", "crm"]}));
        let (pa, pb) = (role_policy(&a, &account()), role_policy(&b, &account()));
        let resources = |p: &Value| -> BTreeSet<String> {
            statements(p)
                .iter()
                .filter(|s| s["Sid"] != "PullImages" && s["Sid"] != "RegistryLogin")
                .flat_map(|s| strings(&s["Resource"]))
                .collect()
        };
        // The tables are shared; the partition condition is not.
        let shared: Vec<String> = resources(&pa).intersection(&resources(&pb)).cloned().collect();
        assert_eq!(shared, ["arn:aws:dynamodb:us-east-1:123456789012:table/berth-crm", "arn:aws:s3:::berth-reports"]);
        assert_ne!(statements(&pa)[5]["Condition"], statements(&pb)[5]["Condition"]);
    }

    #[test]
    fn the_trust_is_ecs_tasks_of_the_account() {
        let t = trust_policy(&account());
        let st = &t["Statement"][0];
        assert_eq!(st["Principal"], json!({"Service": "ecs-tasks.amazonaws.com"}));
        assert_eq!(st["Action"], "sts:AssumeRole");
        assert_eq!(st["Condition"]["StringEquals"]["aws:SourceAccount"], "123456789012");
        assert_eq!(st["Condition"]["ArnLike"]["aws:SourceArn"], "arn:aws:ecs:us-east-1:123456789012:*");
    }

    #[test]
    fn too_many_secret_references_are_refused_before_iam_would() {
        let secrets: serde_json::Map<String, Value> = (0..80)
            .map(|i| (format!("S{i}"), json!(format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/{}-{i}", "x".repeat(90)))))
            .collect();
        let request = OnboardingRequest::from_json(complete(json!({
            "customer_id": "acme", "display_name": "A", "products": ["webapp"],
            "services": {"api": {"image_tag": "1", "secrets": secrets}}
        })));
        let req = request.unwrap_or_else(|e| panic!("{e}"));
        let v = validate(&req, &Catalog::builtin(), &settings(), "arn:exec:1").expect_err("refused");
        assert!(v.iter().any(|x| x.field == "plan.services" && x.rule.contains("role policy")), "{v}");
    }

    #[test]
    fn ingress_is_from_the_albs_on_the_customers_ports() {
        let plan = plan_of(json!({"customer_id": "acme", "display_name": "A", "products": ["webapp"]}));
        let rules = ingress(&plan, "sg-alb");
        let ports: Vec<i32> = rules.iter().map(|r| r.from_port).collect();
        assert_eq!(ports, [3000, 3001]);
        assert!(rules.iter().all(|r| r.protocol == "tcp" && r.peer == "sg-alb" && r.peer_is_group()));
    }

    #[test]
    fn ecr_images_name_their_repository() {
        assert_eq!(
            ecr_repository_arn("123456789012.dkr.ecr.eu-west-1.amazonaws.com/webapp/backend-api:1.4.2", "aws").as_deref(),
            Some("arn:aws:ecr:eu-west-1:123456789012:repository/webapp/backend-api")
        );
        assert_eq!(
            ecr_repository_arn("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/webapp/api@sha256:abc", "aws-cn").as_deref(),
            Some("arn:aws-cn:ecr:cn-north-1:123456789012:repository/webapp/api")
        );
        assert_eq!(ecr_repository_arn("registry.example.com:5000/webapp/api:1", "aws"), None);
        assert_eq!(ecr_repository_arn("docker.io/library/nginx:1", "aws"), None);
        assert_eq!(ecr_repository_arn("12345.dkr.ecr.eu-west-1.amazonaws.com/a:1", "aws"), None);
        assert_eq!(ecr_repository_arn("nginx", "aws"), None);
    }

    #[test]
    fn names_fit_iam_and_ec2() {
        assert_eq!(role_name("berth", "acme"), "berth-acme");
        let long = "a".repeat(63);
        assert!(role_name("berth", &long).len() <= ROLE_NAME_MAX);
        assert_ne!(role_name("berth", &long), role_name("berth", &"a".repeat(62)));
        assert_eq!(security_group_name("berth", "acme"), "berth-acme");
        assert_eq!(role_path("berth"), "/berth/");
    }

    #[test]
    fn egress_settings() {
        for e in Egress::ALL {
            assert_eq!(Egress::parse(e.as_str()), Some(e));
        }
        assert_eq!(Egress::parse("open"), None);
        assert_eq!(Egress::All.rules().len(), 2);
        assert!(Egress::Https.rules().iter().all(|r| r.protocol == "tcp" && r.from_port == 443));
        assert!(Egress::None.rules().is_empty());
    }

    #[test]
    fn access_names_are_checked_and_merged() {
        let a = Access { s3_buckets: vec!["b-one".into()], dynamodb_tables: vec![] };
        let b = Access { s3_buckets: vec!["b-one".into(), "a.two".into()], dynamodb_tables: vec!["crm_items".into()] };
        let u = a.union(&b);
        assert_eq!(u.s3_buckets, ["a.two", "b-one"]);
        assert_eq!(u.dynamodb_tables, ["crm_items"]);
        assert!(u.violations().is_empty());
        let bad = Access { s3_buckets: vec!["Bad_Bucket".into()], dynamodb_tables: vec!["x".into()] };
        let v = bad.violations();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].0, "access.s3_buckets");
        assert_eq!(v[1].0, "access.dynamodb_tables");
    }
}

//! The SDK implementations against scripted SDK answers (aws-smithy-mocks): the requests
//! berth sends and how it classifies what comes back, including what the emulator cannot
//! show (it drops deploymentConfiguration, it does not throttle).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use aws_sdk_ecs::operation::create_service::CreateServiceOutput;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionError;
use aws_sdk_ecs::types::Service;
use aws_sdk_elasticloadbalancingv2::operation::create_rule::CreateRuleError;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsError;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use berth_adapters::aws::{DynamoRegistry, EcsApi, ElbApi, IamApi};
use berth_adapters::model::{Registration, RoleSpec, RuleSpec, ServiceSpec};
use berth_adapters::ports::{Customers, ListenerRules, Roles, Services, TargetGroups, TaskDefinitions};
use berth_domain::ErrorKind;

fn service_spec() -> ServiceSpec {
    ServiceSpec {
        cluster: "shared".into(),
        name: "acme-api".into(),
        task_definition_arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/berth-acme-api:1".into(),
        desired_count: 2,
        subnets: vec!["subnet-a".into(), "subnet-b".into()],
        security_groups: vec!["sg-1".into()],
        load_balancer: Some(("arn:tg".into(), "api".into(), 3001)),
        client_token: "0123456789abcdef0123456789abcdef".into(),
        tags: BTreeMap::from([("managed-by".into(), "berth".into())]),
    }
}

#[tokio::test]
async fn services_are_created_with_circuit_breaker_rollback_and_private_networking() {
    let rule = mock!(aws_sdk_ecs::Client::create_service)
        .match_requests(|r| {
            let cb = r.deployment_configuration().and_then(|d| d.deployment_circuit_breaker());
            let vpc = r.network_configuration().and_then(|n| n.awsvpc_configuration());
            cb.is_some_and(|c| c.enable() && c.rollback())
                && r.client_token() == Some("0123456789abcdef0123456789abcdef")
                && r.launch_type().map(|l| l.as_str()) == Some("FARGATE")
                && vpc.is_some_and(|v| v.assign_public_ip().map(|a| a.as_str()) == Some("DISABLED") && v.subnets().len() == 2)
                && r.load_balancers().first().is_some_and(|lb| lb.container_port() == Some(3001) && lb.container_name() == Some("api"))
                && r.tags().iter().any(|t| t.key() == Some("managed-by") && t.value() == Some("berth"))
        })
        .then_output(|| {
            CreateServiceOutput::builder()
                .service(Service::builder().service_name("acme-api").service_arn("arn:svc").status("ACTIVE").desired_count(2).build())
                .build()
        });
    let ecs = EcsApi::new(mock_client!(aws_sdk_ecs, [&rule]));
    let s = ecs.create(&service_spec()).await.expect("the request matched");
    assert_eq!(s.arn, "arn:svc");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn an_unknown_task_family_is_none_but_other_client_errors_are_not() {
    let missing = mock!(aws_sdk_ecs::Client::describe_task_definition).then_error(|| {
        DescribeTaskDefinitionError::ClientException(
            aws_sdk_ecs::types::error::ClientException::builder().message("Unable to describe task definition.").build(),
        )
    });
    let ecs = EcsApi::new(mock_client!(aws_sdk_ecs, [&missing]));
    assert!(ecs.latest("berth-acme-api").await.unwrap().is_none());

    let denied = mock!(aws_sdk_ecs::Client::describe_task_definition).then_error(|| {
        DescribeTaskDefinitionError::ClientException(
            aws_sdk_ecs::types::error::ClientException::builder().message("not authorized").build(),
        )
    });
    let ecs = EcsApi::new(mock_client!(aws_sdk_ecs, [&denied]));
    let e = ecs.latest("berth-acme-api").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal, "{e}");
}

#[tokio::test]
async fn a_missing_target_group_is_none() {
    let rule = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_groups).then_error(|| {
        DescribeTargetGroupsError::TargetGroupNotFoundException(
            aws_sdk_elasticloadbalancingv2::types::error::TargetGroupNotFoundException::builder().message("not found").build(),
        )
    });
    let elb = ElbApi::new(mock_client!(aws_sdk_elasticloadbalancingv2, [&rule]));
    assert!(TargetGroups::find(&elb, "acme-api").await.unwrap().is_none());
}

fn rule_spec() -> RuleSpec {
    RuleSpec {
        listener_arn: "arn:listener".into(),
        priority: 7,
        host: "acme.example.com".into(),
        also: Vec::new(),
        path_patterns: vec!["/api/*".into()],
        target_group_arn: "arn:tg".into(),
        tags: BTreeMap::new(),
    }
}

#[tokio::test]
async fn throttling_is_transient_and_keeps_its_code() {
    let rule = mock!(aws_sdk_elasticloadbalancingv2::Client::create_rule)
        .then_error(|| CreateRuleError::generic(ErrorMetadata::builder().code("Throttling").message("Rate exceeded").build()));
    let elb = ElbApi::new(mock_client!(aws_sdk_elasticloadbalancingv2, [&rule]));
    let e = ListenerRules::create(&elb, &rule_spec()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert_eq!(e.aws_code(), Some("Throttling"));
    assert!(std::error::Error::source(&e).is_some(), "the SDK error is kept as the source");
}

#[tokio::test]
async fn a_taken_priority_is_a_conflict_with_its_code() {
    let rule = mock!(aws_sdk_elasticloadbalancingv2::Client::create_rule)
        .match_requests(|r| r.priority() == Some(7) && r.conditions().len() == 2)
        .then_error(|| {
            CreateRuleError::PriorityInUseException(
                aws_sdk_elasticloadbalancingv2::types::error::PriorityInUseException::builder()
                    .message("Priority '7' is currently in use")
                    // As the SDK fills it when it reads AWS's answer.
                    .meta(ErrorMetadata::builder().code("PriorityInUse").message("Priority '7' is currently in use").build())
                    .build(),
            )
        });
    let elb = ElbApi::new(mock_client!(aws_sdk_elasticloadbalancingv2, [&rule]));
    let e = ListenerRules::create(&elb, &rule_spec()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(e.aws_code(), Some("PriorityInUse"));
}

fn registration() -> Registration {
    Registration {
        customer_id: "acme".into(),
        execution_id: "exec-2".into(),
        host: "acme.example.com".into(),
        product_hosts: Vec::new(),
        display_name: "Acme".into(),
        products: vec!["webapp".into()],
        plan_json: "{}".into(),
        ledger: Vec::new(),
    }
}

fn cancelled(codes: &'static [&'static str]) -> impl Fn() -> TransactWriteItemsError {
    move || {
        TransactWriteItemsError::TransactionCanceledException(
            aws_sdk_dynamodb::types::error::TransactionCanceledException::builder()
                .set_cancellation_reasons(Some(codes.iter().map(|c| CancellationReason::builder().code(*c).build()).collect()))
                .message("Transaction cancelled")
                .build(),
        )
    }
}

fn customer_item(state: &str) -> GetItemOutput {
    let item = [
        ("pk", "CUSTOMER#acme"),
        ("sk", "PROFILE"),
        ("customer_id", "acme"),
        ("state", state),
        ("execution_id", "exec-1"),
        ("host", "acme.example.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
    .collect();
    GetItemOutput::builder().set_item(Some(item)).build()
}

#[tokio::test]
async fn registering_an_active_customer_is_a_conflict_that_says_so() {
    let tx = mock!(aws_sdk_dynamodb::Client::transact_write_items).then_error(cancelled(&["ConditionalCheckFailed", "None"]));
    let get = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| customer_item("ACTIVE"));
    let r = DynamoRegistry::new(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&tx, &get]), "t");
    let e = r.register(&registration()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("already ACTIVE"), "{e}");
}

#[tokio::test]
async fn a_host_held_by_another_customer_is_a_conflict() {
    let tx = mock!(aws_sdk_dynamodb::Client::transact_write_items).then_error(cancelled(&["None", "ConditionalCheckFailed"]));
    let r = DynamoRegistry::new(mock_client!(aws_sdk_dynamodb, [&tx]), "t");
    let e = r.register(&registration()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("host 'acme.example.com'"), "{e}");
}

#[tokio::test]
async fn a_transaction_conflict_is_transient() {
    let tx = mock!(aws_sdk_dynamodb::Client::transact_write_items).then_error(cancelled(&["TransactionConflict", "None"]));
    let r = DynamoRegistry::new(mock_client!(aws_sdk_dynamodb, [&tx]), "t");
    assert_eq!(r.register(&registration()).await.unwrap_err().kind(), ErrorKind::Transient);
}

#[tokio::test]
async fn a_certificate_taken_again_while_its_last_user_let_go_stays_with_its_new_user() {
    use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    let item = |users: Option<&[&str]>| {
        let mut item: std::collections::HashMap<String, AttributeValue> = [("pk", "LISTENER#l"), ("sk", "CERTIFICATE#c")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.into())))
            .collect();
        if let Some(u) = users {
            item.insert("customers".into(), AttributeValue::Ss(u.iter().map(|s| s.to_string()).collect()));
        }
        item
    };
    // acme was the last user: its set is empty (dropped), but beta takes the certificate
    // before the empty item is deleted.
    let update = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| r.update_expression() == Some("DELETE customers :c"))
        .then_output(move || UpdateItemOutput::builder().set_attributes(Some(item(None))).build());
    let delete = mock!(aws_sdk_dynamodb::Client::delete_item)
        .match_requests(|r| r.condition_expression() == Some("attribute_not_exists(customers)"))
        .then_error(|| DeleteItemError::ConditionalCheckFailedException(ConditionalCheckFailedException::builder().build()));
    let get = mock!(aws_sdk_dynamodb::Client::get_item)
        .then_output(move || GetItemOutput::builder().set_item(Some(item(Some(&["beta"])))).build());
    let r = DynamoRegistry::new(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&update, &delete, &get]), "t");
    assert_eq!(r.unshare_certificate("acme", "l", "c").await.unwrap(), ["beta"]);
    assert_eq!((update.num_calls(), delete.num_calls(), get.num_calls()), (1, 1, 1));
}

#[tokio::test]
async fn services_are_described_ten_names_at_a_time() {
    let rule = mock!(aws_sdk_ecs::Client::describe_services)
        .match_requests(|r| r.services().len() <= 10)
        .then_output(|| aws_sdk_ecs::operation::describe_services::DescribeServicesOutput::builder().build());
    let ecs = EcsApi::new(mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]));
    let names: Vec<String> = (0..23).map(|i| format!("svc-{i}")).collect();
    ecs.describe("shared", &names).await.unwrap();
    assert_eq!(rule.num_calls(), 3);
}

mod scaling {
    use aws_sdk_applicationautoscaling::operation::deregister_scalable_target::DeregisterScalableTargetError;
    use aws_sdk_applicationautoscaling::operation::describe_scalable_targets::DescribeScalableTargetsOutput;
    use aws_sdk_applicationautoscaling::operation::describe_scaling_policies::DescribeScalingPoliciesOutput;
    use aws_sdk_applicationautoscaling::operation::put_scaling_policy::PutScalingPolicyOutput;
    use aws_sdk_applicationautoscaling::operation::register_scalable_target::{RegisterScalableTargetError, RegisterScalableTargetOutput};
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ScalableTarget, ServiceNamespace};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use aws_smithy_types::error::ErrorMetadata;
    use berth_adapters::aws::ScalingApi;
    use berth_adapters::ports::Scaling;
    use berth_domain::ErrorKind;

    const ID: &str = "service/shared/berth-acme-api";

    #[tokio::test]
    async fn the_policy_tracks_the_services_average_cpu() {
        let rule = mock!(aws_sdk_applicationautoscaling::Client::put_scaling_policy)
            .match_requests(|r| {
                let c = r.target_tracking_scaling_policy_configuration();
                r.resource_id() == Some(ID)
                    && r.policy_name() == Some("berth-acme-api-cpu")
                    && r.policy_type().map(|p| p.as_str()) == Some("TargetTrackingScaling")
                    && r.scalable_dimension() == Some(&ScalableDimension::EcsServiceDesiredCount)
                    && c.is_some_and(|c| {
                        c.target_value() == 70.0
                            && c.scale_out_cooldown() == Some(60)
                            && c.scale_in_cooldown() == Some(300)
                            && c.predefined_metric_specification().map(|m| m.predefined_metric_type().as_str())
                                == Some("ECSServiceAverageCPUUtilization")
                    })
            })
            .then_output(|| PutScalingPolicyOutput::builder().policy_arn("arn:policy").build().expect("an output"));
        let scaling = ScalingApi::new(mock_client!(aws_sdk_applicationautoscaling, [&rule]));
        scaling.put_cpu_policy("shared", "berth-acme-api", "berth-acme-api-cpu", 70).await.expect("the request matched");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_suspend_stops_every_kind_of_scaling_and_a_race_is_transient() {
        let suspend = mock!(aws_sdk_applicationautoscaling::Client::register_scalable_target)
            .match_requests(|r| {
                let s = r.suspended_state();
                r.resource_id() == Some(ID)
                    && r.min_capacity() == Some(0)
                    && r.max_capacity() == Some(10)
                    && r.service_namespace() == Some(&ServiceNamespace::Ecs)
                    && s.is_some_and(|s| {
                        s.dynamic_scaling_in_suspended() == Some(true)
                            && s.dynamic_scaling_out_suspended() == Some(true)
                            && s.scheduled_scaling_suspended() == Some(true)
                    })
            })
            .then_output(|| RegisterScalableTargetOutput::builder().build());
        let raced = mock!(aws_sdk_applicationautoscaling::Client::register_scalable_target).then_error(|| {
            RegisterScalableTargetError::generic(ErrorMetadata::builder().code("ConcurrentUpdateException").message("busy").build())
        });
        let scaling = ScalingApi::new(mock_client!(aws_sdk_applicationautoscaling, RuleMode::Sequential, [&suspend, &raced]));
        scaling.register("shared", "berth-acme-api", 0, 10, true).await.expect("the request matched");
        let e = scaling.register("shared", "berth-acme-api", 0, 10, true).await.expect_err("raced");
        assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    }

    #[tokio::test]
    async fn a_target_gone_between_the_look_and_the_deregister_is_not_an_error() {
        let found = mock!(aws_sdk_applicationautoscaling::Client::describe_scalable_targets).then_output(|| {
            DescribeScalableTargetsOutput::builder()
                .scalable_targets(
                    ScalableTarget::builder()
                        .service_namespace(ServiceNamespace::Ecs)
                        .resource_id(ID)
                        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                        .min_capacity(2)
                        .max_capacity(10)
                        .role_arn("arn:role")
                        .creation_time(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .expect("a target"),
                )
                .build()
        });
        let no_policies = mock!(aws_sdk_applicationautoscaling::Client::describe_scaling_policies)
            .then_output(|| DescribeScalingPoliciesOutput::builder().build());
        let gone = mock!(aws_sdk_applicationautoscaling::Client::deregister_scalable_target).then_error(|| {
            DeregisterScalableTargetError::ObjectNotFoundException(
                aws_sdk_applicationautoscaling::types::error::ObjectNotFoundException::builder().message("gone").build(),
            )
        });
        let scaling = ScalingApi::new(mock_client!(aws_sdk_applicationautoscaling, RuleMode::Sequential, [&found, &no_policies, &gone]));
        assert!(!scaling.deregister("shared", "berth-acme-api").await.expect("not an error"));
        assert_eq!(gone.num_calls(), 1);
    }
}

#[tokio::test]
async fn a_requested_certificate_is_dns_validated_tagged_and_idempotent() {
    use aws_sdk_acm::operation::request_certificate::RequestCertificateOutput;
    use berth_adapters::ports::Certificates;
    let rule = mock!(aws_sdk_acm::Client::request_certificate)
        .match_requests(|r| {
            r.domain_name() == Some("*.acme.saas.example.com")
                && r.validation_method().map(|m| m.as_str()) == Some("DNS")
                && r.idempotency_token() == Some("0123456789abcdef")
                && r.tags().iter().any(|t| t.key() == "berth:customer" && t.value() == Some("acme"))
        })
        .then_output(|| RequestCertificateOutput::builder().certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/c1").build());
    let acm = berth_adapters::aws::AcmApi::new(mock_client!(aws_sdk_acm, [&rule]));
    let tags = BTreeMap::from([("berth:customer".to_string(), "acme".to_string()), ("managed-by".to_string(), "berth".to_string())]);
    let arn = acm.request("*.acme.saas.example.com", "0123456789abcdef", &tags).await.expect("the request matched");
    assert_eq!(arn, "arn:aws:acm:us-east-1:123456789012:certificate/c1");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_certificate_is_berths_only_by_its_tags_and_a_gone_one_is_not_an_error() {
    use aws_sdk_acm::operation::delete_certificate::DeleteCertificateError;
    use aws_sdk_acm::operation::list_certificates::ListCertificatesOutput;
    use aws_sdk_acm::operation::list_tags_for_certificate::ListTagsForCertificateOutput;
    use aws_sdk_acm::types::error::ResourceNotFoundException;
    use aws_sdk_acm::types::{CertificateSummary, Tag};
    use berth_adapters::ports::Certificates;
    let list = mock!(aws_sdk_acm::Client::list_certificates).then_output(|| {
        ListCertificatesOutput::builder()
            .certificate_summary_list(
                CertificateSummary::builder().certificate_arn("arn:c:other").domain_name("*.acme.saas.example.com").build(),
            )
            .build()
    });
    // Another account user's certificate for the same name: not berth's for the customer.
    let tags = mock!(aws_sdk_acm::Client::list_tags_for_certificate)
        .then_output(|| ListTagsForCertificateOutput::builder().tags(Tag::builder().key("team").value("web").build().unwrap()).build());
    let gone = mock!(aws_sdk_acm::Client::delete_certificate)
        .then_error(|| DeleteCertificateError::ResourceNotFoundException(ResourceNotFoundException::builder().message("gone").build()));
    let acm = berth_adapters::aws::AcmApi::new(mock_client!(aws_sdk_acm, RuleMode::MatchAny, [&list, &tags, &gone]));
    assert_eq!(acm.find("*.acme.saas.example.com", "acme").await.expect("listed"), None);
    assert!(!acm.delete("arn:c:gone").await.expect("not an error"));
}

#[tokio::test]
async fn a_drifted_rule_gets_back_its_hosts_and_paths_in_one_modify_rule() {
    use aws_sdk_elasticloadbalancingv2::operation::modify_rule::ModifyRuleOutput;
    let rule = mock!(aws_sdk_elasticloadbalancingv2::Client::modify_rule)
        .match_requests(|r| {
            let c = r.conditions();
            r.rule_arn() == Some("arn:rule/1")
                && c.len() == 2
                && c[0].host_header_config().is_some_and(|h| h.values() == ["acme.saas.example.com", "shop.acme-corp.com"])
                && c[1].path_pattern_config().is_some_and(|p| p.values() == ["/api/*"])
                && r.actions().is_empty()
        })
        .then_output(|| ModifyRuleOutput::builder().build());
    let elb = ElbApi::new(mock_client!(aws_sdk_elasticloadbalancingv2, [&rule]));
    elb.set_conditions("arn:rule/1", &["acme.saas.example.com".into(), "shop.acme-corp.com".into()], &["/api/*".into()])
        .await
        .expect("the request matched");
    assert_eq!(rule.num_calls(), 1);
}

fn iam_meta(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(format!("{code} (scripted)")).build()
}

#[tokio::test]
async fn a_customer_role_is_created_under_its_path_with_the_boundary_trust_and_tags() {
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let wanted = trust.clone();
    let create = mock!(aws_sdk_iam::Client::create_role)
        .match_requests(move |r| {
            r.role_name() == Some("berth-acme")
                && r.path() == Some("/berth/")
                && r.permissions_boundary() == Some("arn:aws:iam::123456789012:policy/boundary")
                && r.assume_role_policy_document().and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok()) == Some(wanted.clone())
                && r.tags().iter().any(|t| t.key() == "berth:customer" && t.value() == "acme")
        })
        .then_output(|| {
            aws_sdk_iam::operation::create_role::CreateRoleOutput::builder()
                .role(
                    aws_sdk_iam::types::Role::builder()
                        .role_name("berth-acme")
                        .path("/berth/")
                        .arn("arn:aws:iam::123456789012:role/berth/berth-acme")
                        .role_id("AROA0")
                        .create_date(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .expect("a role"),
                )
                .build()
        });
    let iam = IamApi::new(mock_client!(aws_sdk_iam, [&create]));
    let spec = RoleSpec {
        name: "berth-acme".into(),
        path: "/berth/".into(),
        trust,
        boundary_arn: "arn:aws:iam::123456789012:policy/boundary".into(),
        description: "berth: the tasks of customer acme".into(),
        tags: BTreeMap::from([("berth:customer".into(), "acme".into())]),
    };
    let role = iam.create(&spec).await.expect("the request matched");
    assert_eq!(role.arn, "arn:aws:iam::123456789012:role/berth/berth-acme");
    assert_eq!(create.num_calls(), 1);

    // The account's role quota met at CreateRole (a race with another onboarding) is a quota.
    let full = mock!(aws_sdk_iam::Client::create_role).then_error(|| {
        aws_sdk_iam::operation::create_role::CreateRoleError::LimitExceededException(
            aws_sdk_iam::types::error::LimitExceededException::builder().meta(iam_meta("LimitExceeded")).build(),
        )
    });
    let iam = IamApi::new(mock_client!(aws_sdk_iam, [&full]));
    assert_eq!(iam.create(&spec).await.unwrap_err().kind(), ErrorKind::QuotaExceeded);
}

#[tokio::test]
async fn a_missing_role_is_none_and_its_deletion_removes_its_policies_first() {
    let missing = mock!(aws_sdk_iam::Client::get_role).then_error(|| {
        aws_sdk_iam::operation::get_role::GetRoleError::NoSuchEntityException(
            aws_sdk_iam::types::error::NoSuchEntityException::builder().meta(iam_meta("NoSuchEntity")).build(),
        )
    });
    let iam = IamApi::new(mock_client!(aws_sdk_iam, [&missing]));
    assert!(iam.find("berth-acme").await.unwrap().is_none());

    // IAM answers a policy URL-encoded.
    let policy = mock!(aws_sdk_iam::Client::get_role_policy).then_output(|| {
        aws_sdk_iam::operation::get_role_policy::GetRolePolicyOutput::builder()
            .role_name("berth-acme")
            .policy_name("berth-customer")
            .policy_document("%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D")
            .build()
            .expect("an answer")
    });
    let listed = mock!(aws_sdk_iam::Client::list_role_policies).then_output(|| {
        aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput::builder()
            .policy_names("berth-customer")
            .build()
            .expect("an answer")
    });
    let policy_deleted = mock!(aws_sdk_iam::Client::delete_role_policy)
        .match_requests(|r| r.policy_name() == Some("berth-customer"))
        .then_output(|| aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyOutput::builder().build());
    let role_deleted =
        mock!(aws_sdk_iam::Client::delete_role).then_output(|| aws_sdk_iam::operation::delete_role::DeleteRoleOutput::builder().build());
    let iam = IamApi::new(mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&policy, &listed, &policy_deleted, &role_deleted]));
    assert_eq!(
        iam.policy("berth-acme", "berth-customer").await.unwrap(),
        Some(serde_json::json!({"Version": "2012-10-17", "Statement": []}))
    );
    assert!(Roles::delete(&iam, "berth-acme").await.unwrap());
    assert_eq!((policy_deleted.num_calls(), role_deleted.num_calls()), (1, 1));

    // Deleting a role that is gone: false, nothing else called.
    let gone = mock!(aws_sdk_iam::Client::list_role_policies).then_error(|| {
        aws_sdk_iam::operation::list_role_policies::ListRolePoliciesError::NoSuchEntityException(
            aws_sdk_iam::types::error::NoSuchEntityException::builder().meta(iam_meta("NoSuchEntity")).build(),
        )
    });
    let iam = IamApi::new(mock_client!(aws_sdk_iam, [&gone]));
    assert!(!Roles::delete(&iam, "berth-acme").await.unwrap());
}

//! berth touches only what it owns, against the emulator: for each kind of resource berth
//! names (the host's DNS record, a target group, a listener rule for the host, an ECS
//! service, a task definition family, a log group), one is made by hand first under the name
//! berth wants. The onboarding ends FAILED with `Berth.Conflict` naming it; what was made by
//! hand is exactly as it was; and nothing of berth's is left, checked by listing.

use aws_sdk_ecs::types::{AwsVpcConfiguration, ContainerDefinition, LaunchType, NetworkConfiguration};
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
use berth_domain::naming;
use berth_tests::Harness;

/// The kinds, each with what its error and a leftover line name.
const KINDS: [&str; 6] = ["dns", "target-group", "rule", "service", "family", "log-group"];

/// Makes one `kind` by hand for `customer`; returns the name or ARN that identifies it.
async fn by_hand(h: &Harness, kind: &str, customer: &str) -> String {
    let infra = &h.stack.infra;
    let prefix = &infra.name_prefix;
    match kind {
        "dns" => {
            let set = ResourceRecordSet::builder()
                .name(h.host(customer))
                .r#type(RrType::A)
                .ttl(300)
                .resource_records(ResourceRecord::builder().value("192.0.2.10").build().unwrap())
                .build()
                .unwrap();
            let change = Change::builder().action(ChangeAction::Create).resource_record_set(set).build().unwrap();
            h.route53
                .change_resource_record_sets()
                .hosted_zone_id(&infra.hosted_zone_id)
                .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
                .send()
                .await
                .expect("record made by hand");
            h.host(customer)
        }
        "target-group" => {
            let name = naming::target_group_name(prefix, customer, "api");
            let out =
                h.elb.create_target_group().name(&name).port(8080).protocol("HTTP".into()).vpc_id(&infra.vpc_id).send().await.unwrap();
            out.target_groups()[0].target_group_arn().unwrap().to_string()
        }
        "rule" => h.rule_by_hand(&format!("byhand-{customer}"), &infra.listener_arn, 49_000, &h.host(customer)).await,
        "service" | "family" => {
            let family = if kind == "family" { naming::task_family(prefix, customer, "api") } else { format!("byhand-{customer}") };
            let td = h
                .ecs
                .register_task_definition()
                .family(&family)
                .network_mode("awsvpc".into())
                .requires_compatibilities("FARGATE".into())
                .cpu("256")
                .memory("512")
                .container_definitions(ContainerDefinition::builder().name("docs").image("nginx:1.27").build())
                .send()
                .await
                .unwrap();
            let td_arn = td.task_definition().unwrap().task_definition_arn().unwrap().to_string();
            if kind == "family" {
                return family;
            }
            let name = naming::ecs_service_name(prefix, customer, "api");
            let vpc = AwsVpcConfiguration::builder()
                .set_subnets(Some(infra.subnets.clone()))
                .security_groups(&infra.service_security_group)
                .build()
                .unwrap();
            h.ecs
                .create_service()
                .cluster(&infra.cluster)
                .service_name(&name)
                .task_definition(&td_arn)
                .desired_count(1)
                .launch_type(LaunchType::Fargate)
                .network_configuration(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
                .send()
                .await
                .unwrap();
            name
        }
        _ => {
            let name = naming::log_group_name(prefix, customer);
            h.logs.create_log_group().log_group_name(&name).tags("owner", "docs-team").send().await.unwrap();
            h.logs.put_retention_policy().log_group_name(&name).retention_in_days(7).send().await.unwrap();
            name
        }
    }
}

/// Everything that can be read of the hand-made resource.
async fn look(h: &Harness, kind: &str, id: &str) -> String {
    let infra = &h.stack.infra;
    match kind {
        "dns" => {
            let out = h.route53.list_resource_record_sets().hosted_zone_id(&infra.hosted_zone_id).send().await.unwrap();
            let sets: Vec<_> = out.resource_record_sets().iter().filter(|r| r.name().trim_end_matches('.') == id).collect();
            format!("{sets:?}")
        }
        "target-group" => {
            let tg = h.elb.describe_target_groups().target_group_arns(id).send().await.unwrap();
            let tags = h.elb.describe_tags().resource_arns(id).send().await.unwrap();
            format!("{:?} {:?}", tg.target_groups(), tags.tag_descriptions())
        }
        "rule" => {
            let rule = h.elb.describe_rules().rule_arns(id).send().await.unwrap();
            let tags = h.elb.describe_tags().resource_arns(id).send().await.unwrap();
            format!("{:?} {:?}", rule.rules(), tags.tag_descriptions())
        }
        "service" => {
            let out = h.ecs.describe_services().cluster(&infra.cluster).services(id).send().await.unwrap();
            let s = &out.services()[0];
            format!("{:?} {:?} {} {:?}", s.status(), s.task_definition(), s.desired_count(), s.tags())
        }
        "family" => {
            let out = h.ecs.list_task_definitions().family_prefix(id).send().await.unwrap();
            format!("{:?}", out.task_definition_arns())
        }
        _ => {
            let out = h.logs.describe_log_groups().log_group_name_prefix(id).send().await.unwrap();
            let groups: Vec<_> = out.log_groups().iter().map(|g| (g.log_group_name().map(str::to_string), g.retention_in_days())).collect();
            let arn = out.log_groups()[0].arn().unwrap().trim_end_matches(":*").to_string();
            let tags = h.logs.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
            format!("{groups:?} {:?}", tags.tags())
        }
    }
}

#[tokio::test]
async fn what_was_made_by_hand_survives_an_onboarding_unchanged() {
    let h = Harness::new().await;
    for kind in KINDS {
        let customer = format!("own-{kind}");
        let id = by_hand(&h, kind, &customer).await;
        let before = look(&h, kind, &id).await;

        let report = h.onboard(&Harness::request(&customer)).await;
        assert_eq!(report.status, "FAILED", "{kind}");
        assert_eq!(report.error.as_deref(), Some("Berth.Conflict"), "{kind}: {:?}", report.cause);
        let cause = report.cause.clone().unwrap_or_default();
        assert!(
            cause.contains(id.as_str()) || cause.contains(&naming::target_group_name(&h.stack.infra.name_prefix, &customer, "api")),
            "{kind}: the error names it: {cause}"
        );

        assert_eq!(look(&h, kind, &id).await, before, "{kind}: what was made by hand is exactly as it was");
        let inv = h.inventory(&customer).await;
        // The hand-made one is listed too (by name or ARN): everything else would be berth's.
        let mut theirs = vec![id.clone(), format!("byhand-{customer}")];
        if kind == "target-group" {
            theirs.push(naming::target_group_name(&h.stack.infra.name_prefix, &customer, "api"));
        }
        let left: Vec<String> = inv.leftovers().into_iter().filter(|l| !theirs.iter().any(|t| l.contains(t.as_str()))).collect();
        assert!(left.is_empty(), "{kind}: berth left {left:?}");
        if kind == "dns" {
            assert!(inv.customer_item.is_none(), "dns: registration refused before anything was written");
        }
        eprintln!("{kind}: refused with Berth.Conflict, the hand-made one unchanged, nothing of berth's left");
    }
}

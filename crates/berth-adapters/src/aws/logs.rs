//! CloudWatch Logs groups for the customers' containers.

use std::collections::BTreeMap;

use aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupError;
use aws_sdk_cloudwatchlogs::operation::delete_log_group::DeleteLogGroupError;
use aws_sdk_cloudwatchlogs::Client;

use crate::classify::classify;
use crate::model::LogGroupObserved;
use crate::ports::{LogGroups, Result};

const SERVICE: &str = "logs";

#[derive(Debug, Clone)]
pub struct LogsApi {
    client: Client,
}

impl LogsApi {
    pub fn new(client: Client) -> Self {
        LogsApi { client }
    }
}

impl LogGroups for LogsApi {
    async fn list(&self, prefix: &str) -> Result<Vec<LogGroupObserved>> {
        let mut groups = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_log_groups()
                .log_group_name_prefix(prefix)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify(SERVICE, "DescribeLogGroups", e))?;
            groups.extend(out.log_groups().iter().map(|g| LogGroupObserved {
                name: g.log_group_name().unwrap_or_default().to_string(),
                arn: g.arn().unwrap_or_default().trim_end_matches(":*").to_string(),
                retention_days: g.retention_in_days(),
            }));
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(groups)
    }

    async fn create(&self, name: &str, tags: &BTreeMap<String, String>) -> Result<bool> {
        match self.client.create_log_group().log_group_name(name).set_tags(Some(tags.clone().into_iter().collect())).send().await {
            Ok(_) => Ok(true),
            // It exists: whose it is, and its settings, are for the caller to look at.
            Err(e) if matches!(e.as_service_error(), Some(CreateLogGroupError::ResourceAlreadyExistsException(_))) => Ok(false),
            Err(e) => Err(classify(SERVICE, "CreateLogGroup", e)),
        }
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let out =
            self.client.list_tags_for_resource().resource_arn(arn).send().await.map_err(|e| classify(SERVICE, "ListTagsForResource", e))?;
        Ok(out.tags().cloned().unwrap_or_default().into_iter().collect())
    }

    async fn set_retention(&self, name: &str, days: i32) -> Result<()> {
        self.client
            .put_retention_policy()
            .log_group_name(name)
            .retention_in_days(days)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "PutRetentionPolicy", e))?;
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<bool> {
        match self.client.delete_log_group().log_group_name(name).send().await {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.as_service_error(), Some(DeleteLogGroupError::ResourceNotFoundException(_))) => Ok(false),
            Err(e) => Err(classify(SERVICE, "DeleteLogGroup", e)),
        }
    }
}

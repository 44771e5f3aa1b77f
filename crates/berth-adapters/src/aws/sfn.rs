//! Step Functions executions, for intake.

use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use aws_sdk_sfn::Client;

use crate::classify::classify;
use crate::model::{ExecutionObserved, ExecutionStart};
use crate::ports::{Executions, Result};

const SERVICE: &str = "states";

#[derive(Debug, Clone)]
pub struct SfnApi {
    client: Client,
}

impl SfnApi {
    pub fn new(client: Client) -> Self {
        SfnApi { client }
    }
}

/// The whole history of an execution, oldest first, a page of 1,000 events at a time.
pub async fn history(client: &Client, execution_arn: &str) -> Result<Vec<aws_sdk_sfn::types::HistoryEvent>> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let out = client
            .get_execution_history()
            .execution_arn(execution_arn)
            .set_next_token(token.take())
            .max_results(1000)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "GetExecutionHistory", e))?;
        events.extend(out.events().iter().cloned());
        match out.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(events),
        }
    }
}

impl Executions for SfnApi {
    async fn start(&self, state_machine_arn: &str, name: &str, input: &str) -> Result<ExecutionStart> {
        match self.client.start_execution().state_machine_arn(state_machine_arn).name(name).input(input).send().await {
            // Also the answer for a running execution with the same name and input, started
            // by a concurrent delivery of the same request.
            Ok(out) => Ok(ExecutionStart { arn: out.execution_arn().to_string(), started: true }),
            // The name is taken, by a finished execution or another input.
            Err(e) if matches!(e.as_service_error(), Some(StartExecutionError::ExecutionAlreadyExists(_))) => {
                Ok(ExecutionStart { arn: berth_domain::naming::execution_arn(state_machine_arn, name), started: false })
            }
            Err(e) => Err(classify(SERVICE, "StartExecution", e)),
        }
    }

    async fn find(&self, execution_arn: &str) -> Result<Option<ExecutionObserved>> {
        let out = match self.client.describe_execution().execution_arn(execution_arn).send().await {
            Ok(out) => out,
            Err(e) if matches!(e.as_service_error(), Some(DescribeExecutionError::ExecutionDoesNotExist(_))) => return Ok(None),
            Err(e) => return Err(classify(SERVICE, "DescribeExecution", e)),
        };
        Ok(Some(ExecutionObserved {
            arn: out.execution_arn().to_string(),
            name: out.name().unwrap_or_default().to_string(),
            status: out.status().as_str().to_string(),
            input: out.input().map(str::to_string),
        }))
    }
}

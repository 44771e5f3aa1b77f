//! `berth customers list` and `berth customers show`: the registry's view of the customers,
//! with what Step Functions says of their executions.

use berth_adapters::model::{CustomerRecord, HistoryEntry};
use berth_adapters::ports::{Customers, Executions, Ledger};
use berth_domain::ledger::LedgerEntry;
use berth_domain::state::CustomerState;
use berth_domain::BerthError;
use serde::Serialize;
use serde_json::Value;

/// The customers in id order, those in `state` only when it is given (as the HTTP API lists
/// them).
pub async fn list<C: Customers>(customers: &C, state: Option<CustomerState>) -> Result<Vec<CustomerRecord>, BerthError> {
    berth_steps::api::customers_after(customers, state, "").await
}

/// A customer as `list --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub customer_id: String,
    pub state: CustomerState,
    pub display_name: String,
    pub host: String,
    pub alb: Option<String>,
    pub priorities: Vec<u32>,
    pub execution: String,
}

impl From<&CustomerRecord> for Listed {
    fn from(c: &CustomerRecord) -> Self {
        Listed {
            customer_id: c.customer_id.clone(),
            state: c.state,
            display_name: c.display_name.clone(),
            host: c.host.clone(),
            alb: c.alb_name.clone(),
            priorities: c.priorities.clone(),
            execution: c.execution_id.clone(),
        }
    }
}

/// The customers as a table.
pub fn list_table(customers: &[CustomerRecord]) -> String {
    let rows: Vec<Vec<String>> = customers
        .iter()
        .map(|c| {
            vec![
                c.customer_id.clone(),
                c.state.to_string(),
                c.host.clone(),
                c.alb_name.clone().unwrap_or_else(|| "-".into()),
                priorities(&c.priorities),
                execution_name(&c.execution_id).to_string(),
            ]
        })
        .collect();
    let mut out = table(&["CUSTOMER", "STATE", "HOST", "ALB", "PRIORITIES", "EXECUTION"], &rows);
    out.push_str(&format!("{} customer{}\n", customers.len(), if customers.len() == 1 { "" } else { "s" }));
    out
}

/// One of a customer's executions and its status as Step Functions has it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionRow {
    pub execution_arn: String,
    pub operation: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED; `unknown` when Step Functions no
    /// longer has it (its history is kept 90 days).
    pub status: String,
}

/// Everything `show` prints of a customer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shown {
    pub customer_id: String,
    pub state: CustomerState,
    pub display_name: String,
    /// The catalog's tier of its last plan.
    pub tier: Option<String>,
    pub host: String,
    pub url: Value,
    pub alb: Option<String>,
    pub listener_arn: Option<String>,
    pub priorities: Vec<u32>,
    pub target_groups_held: u32,
    pub execution: String,
    pub operation: Option<String>,
    pub suspend_reason: Option<String>,
    pub last_error: Option<Value>,
    /// What a cleanup that could not finish left.
    pub left: Vec<String>,
    /// What berth made for the customer (the resource ledger).
    pub resources: Vec<LedgerEntry>,
    /// The executions that changed the customer, newest first.
    pub executions: Vec<ExecutionRow>,
    /// The lifecycle history, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// How many of a customer's executions `show` asks Step Functions about.
pub const EXECUTIONS_SHOWN: usize = 10;

/// The customer with its resources, history and executions; NotFound when there is none.
pub async fn show<R: Customers + Ledger, E: Executions>(registry: &R, executions: &E, id: &str) -> Result<Shown, BerthError> {
    let c =
        registry.get(id).await?.ok_or_else(|| BerthError::NotFound(format!("no customer '{}'", berth_domain::naming::truncate(id, 80))))?;
    let resources = registry.entries(id).await?;
    let history = registry.history(id).await?;
    // The current execution first, then the history's, newest first, each once.
    let mut arns: Vec<(String, String)> =
        vec![(c.execution_id.clone(), c.operation.map_or_else(|| "onboard".to_string(), |o| o.name().to_string()))];
    for h in history.iter().rev() {
        if !arns.iter().any(|(a, _)| *a == h.execution_id) {
            arns.push((h.execution_id.clone(), h.operation.name().to_string()));
        }
    }
    let mut rows = Vec::new();
    for (arn, operation) in arns.into_iter().filter(|(a, _)| !a.is_empty()).take(EXECUTIONS_SHOWN) {
        let status = executions.find(&arn).await?.map_or_else(|| "unknown".to_string(), |e| e.status);
        rows.push(ExecutionRow { execution_arn: arn, operation, status });
    }
    Ok(Shown {
        url: c.outputs.as_ref().and_then(|o| o.get("url")).cloned().unwrap_or(Value::Null),
        tier: c.plan.as_ref().and_then(|p| p.get("tier")).and_then(Value::as_str).map(str::to_string),
        customer_id: c.customer_id,
        state: c.state,
        display_name: c.display_name,
        host: c.host,
        alb: c.alb_name,
        listener_arn: c.listener_arn,
        priorities: c.priorities,
        target_groups_held: c.target_groups_held,
        execution: c.execution_id,
        operation: c.operation.map(|o| o.name().to_string()),
        suspend_reason: c.suspend_reason,
        last_error: c.error.map(|e| serde_json::json!({ "error": e, "cause": c.cause })),
        left: c.leftovers,
        resources,
        executions: rows,
        history,
    })
}

/// The customer as text: a header, then its resources, executions and history.
pub fn show_text(s: &Shown) -> String {
    let mut out = String::new();
    let field = |out: &mut String, name: &str, value: &str| out.push_str(&format!("{name:<14}{value}\n"));
    field(&mut out, "customer", &s.customer_id);
    field(&mut out, "name", &s.display_name);
    field(&mut out, "state", s.state.as_str());
    field(&mut out, "tier", s.tier.as_deref().unwrap_or("-"));
    field(&mut out, "host", &s.host);
    field(&mut out, "url", s.url.as_str().unwrap_or("-"));
    field(&mut out, "alb", s.alb.as_deref().unwrap_or("-"));
    field(&mut out, "listener", s.listener_arn.as_deref().unwrap_or("-"));
    field(&mut out, "priorities", &priorities(&s.priorities));
    field(&mut out, "target groups", &s.target_groups_held.to_string());
    field(&mut out, "execution", &s.execution);
    if let Some(r) = &s.suspend_reason {
        field(&mut out, "suspended", r);
    }
    if let Some(e) = &s.last_error {
        let text = format!("{} {}", e["error"].as_str().unwrap_or_default(), e["cause"].as_str().unwrap_or_default());
        field(&mut out, "last error", text.trim());
    }
    for left in &s.left {
        field(&mut out, "left", left);
    }
    out.push_str(&format!("\nresources ({})\n", s.resources.len()));
    // Where each lives, short: its listener is the one above.
    let place = |scope: &Option<String>| match scope {
        None => "-".to_string(),
        Some(l) if s.listener_arn.as_ref() == Some(l) => "listener".to_string(),
        Some(other) => other.clone(),
    };
    let rows: Vec<Vec<String>> = s.resources.iter().map(|r| vec![r.kind.as_str().to_string(), place(&r.scope), r.id.clone()]).collect();
    out.push_str(&indent(&table(&["KIND", "WHERE", "ID"], &rows)));
    out.push_str(&format!("\nexecutions ({})\n", s.executions.len()));
    let rows: Vec<Vec<String>> =
        s.executions.iter().map(|e| vec![e.operation.clone(), e.status.clone(), execution_name(&e.execution_arn).to_string()]).collect();
    out.push_str(&indent(&table(&["OPERATION", "STATUS", "EXECUTION"], &rows)));
    out.push_str(&format!("\nhistory ({})\n", s.history.len()));
    let rows: Vec<Vec<String>> = s
        .history
        .iter()
        .map(|h| {
            let said = [h.requested_by.as_deref(), h.reason.as_deref(), h.note.as_deref(), h.error.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ");
            vec![when(&h.at), h.operation.name().to_string(), h.outcome.clone(), if said.is_empty() { "-".into() } else { said }]
        })
        .collect();
    out.push_str(&indent(&table(&["AT (UTC)", "OPERATION", "OUTCOME", "BY / WHY / ERROR"], &rows)));
    out
}

/// A time the registry recorded (seconds since the epoch) as `YYYY-MM-DD HH:MM:SS`.
pub fn when(at: &str) -> String {
    match at.parse::<i64>().ok().and_then(|secs| chrono::DateTime::from_timestamp(secs, 0)) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None if at.is_empty() => "-".into(),
        None => at.into(),
    }
}

/// The name part of an execution ARN.
pub fn execution_name(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

fn priorities(p: &[u32]) -> String {
    if p.is_empty() {
        return "-".into();
    }
    p.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// Left-aligned columns, each as wide as its widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                l.push_str(&format!("{cell:<w$}  ", w = *w));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_adapters::memory::Memory;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let t = table(&["A", "BB"], &[vec!["long-cell".into(), "x".into()], vec!["y".into(), "z".into()]]);
        assert_eq!(t, "A          BB\nlong-cell  x\ny          z\n");
    }

    #[test]
    fn recorded_times_read_as_utc_dates() {
        assert_eq!(when("0"), "1970-01-01 00:00:00");
        assert_eq!(when("1764756000"), "2025-12-03 10:00:00");
        assert_eq!(when("951782400"), "2000-02-29 00:00:00");
        assert_eq!(when(""), "-");
    }

    #[test]
    fn execution_names_come_from_their_arns() {
        assert_eq!(execution_name("arn:aws:states:eu-west-1:1:execution:berth-onboard:acme_k1"), "acme_k1");
    }

    #[tokio::test]
    async fn show_names_a_missing_customer() {
        let memory = Memory::default();
        let e = show(&memory, &memory, "nobody").await.expect_err("no such customer");
        assert_eq!(crate::CliError::from(e).exit_code(), crate::error::code::NOT_FOUND);
    }
}

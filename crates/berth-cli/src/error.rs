//! `berth`'s failures and the exit code of each.

use berth_domain::{BerthError, ErrorKind};

/// The exit codes, as `berth --help` lists them.
pub mod code {
    /// Done; a followed execution succeeded.
    pub const OK: u8 = 0;
    /// A followed execution failed, timed out or was aborted; or a failure berth does not
    /// classify further.
    pub const FAILED: u8 = 1;
    /// Bad usage or configuration (clap's own code for usage).
    pub const USAGE: u8 = 2;
    /// The request breaks a rule: every reason is printed and nothing was started.
    pub const INVALID: u8 = 3;
    /// No such customer, execution or ALB.
    pub const NOT_FOUND: u8 = 4;
    /// A conflict: the customer is held by another execution, the key was used for another
    /// request, the ALB is already in the pool.
    pub const CONFLICT: u8 = 5;
    /// Throttled or unavailable: worth running again.
    pub const TRANSIENT: u8 = 6;
    /// `follow --timeout` passed with the execution still running.
    pub const STILL_RUNNING: u8 = 7;
}

/// The help text's list of exit codes.
pub const EXIT_CODES: &str = "Exit codes:
  0  done; a followed execution succeeded
  1  a followed execution failed, timed out or was aborted; another failure
  2  bad usage or configuration
  3  the request is invalid (each reason printed; nothing started)
  4  not found
  5  conflict (held by another execution, key used for another request)
  6  throttled or unavailable: run it again
  7  still running when --timeout passed";

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Usage or configuration.
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Berth(#[from] BerthError),
    /// A followed execution ended other than SUCCEEDED.
    #[error("{0}")]
    Failed(String),
    /// A followed execution was still running at the deadline.
    #[error("{0}")]
    StillRunning(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) => code::USAGE,
            CliError::Failed(_) => code::FAILED,
            CliError::StillRunning(_) => code::STILL_RUNNING,
            CliError::Berth(e) => match e.kind() {
                ErrorKind::InvalidRequest => code::INVALID,
                ErrorKind::NotFound => code::NOT_FOUND,
                ErrorKind::Conflict => code::CONFLICT,
                ErrorKind::Transient => code::TRANSIENT,
                ErrorKind::QuotaExceeded | ErrorKind::Timeout | ErrorKind::Internal => code::FAILED,
            },
        }
    }

    /// The message, a line per broken rule for an invalid request.
    pub fn text(&self) -> String {
        match self {
            CliError::Berth(BerthError::InvalidRequest(v)) => {
                let mut out = String::from("invalid request, nothing started:");
                for violation in &v.0 {
                    out.push_str(&format!("\n  {}: {}", violation.field, violation.rule));
                }
                out
            }
            CliError::Berth(e) => format!("{} {e}", e.kind().name()),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_domain::Violation;

    #[test]
    fn each_kind_has_its_code() {
        let codes: Vec<u8> = [
            BerthError::invalid("customer_id", "required"),
            BerthError::NotFound("x".into()),
            BerthError::Conflict("x".into()),
            BerthError::Transient("x".into()),
            BerthError::Internal("x".into()),
        ]
        .into_iter()
        .map(|e| CliError::from(e).exit_code())
        .collect();
        assert_eq!(codes, [3, 4, 5, 6, 1]);
        assert_eq!(CliError::Config("x".into()).exit_code(), 2);
        assert_eq!(CliError::Failed("x".into()).exit_code(), 1);
        assert_eq!(CliError::StillRunning("x".into()).exit_code(), 7);
    }

    #[test]
    fn an_invalid_request_prints_every_reason_with_its_field() {
        let e = CliError::from(BerthError::InvalidRequest(berth_domain::Violations(vec![
            Violation::new("customer_id", "required"),
            Violation::new("products[0]", "unknown product 'x'"),
        ])));
        assert_eq!(e.text(), "invalid request, nothing started:\n  customer_id: required\n  products[0]: unknown product 'x'");
    }
}

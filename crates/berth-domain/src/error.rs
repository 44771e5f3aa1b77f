//! The error vocabulary. Every failure a step reports has one of these kinds; the kind's
//! [`ErrorKind::name`] is the Lambda `errorType` and exactly the string the state machines
//! match in `ErrorEquals`.

use std::fmt;

/// What went wrong, as the state machines see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request breaks a rule; nothing was changed. Not retried.
    InvalidRequest,
    /// Something already exists or is held by someone else (customer, host, priority, name).
    Conflict,
    /// Something the step needs does not exist (customer record, shared infrastructure).
    NotFound,
    /// A quota or a range is exhausted (priorities, rules, target groups).
    QuotaExceeded,
    /// Worth retrying: throttling, a 5xx, a network error, an optimistic-lock race.
    Transient,
    /// Waited long enough (services never became stable).
    Timeout,
    /// A permanent failure berth does not classify further (AWS rejected a call, a bug).
    Internal,
}

impl ErrorKind {
    /// Every kind, for tests and documentation.
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::InvalidRequest,
        ErrorKind::Conflict,
        ErrorKind::NotFound,
        ErrorKind::QuotaExceeded,
        ErrorKind::Transient,
        ErrorKind::Timeout,
        ErrorKind::Internal,
    ];

    /// The stable name: the Lambda `errorType` and the `ErrorEquals` string.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "Berth.InvalidRequest",
            ErrorKind::Conflict => "Berth.Conflict",
            ErrorKind::NotFound => "Berth.NotFound",
            ErrorKind::QuotaExceeded => "Berth.QuotaExceeded",
            ErrorKind::Transient => "Berth.Transient",
            ErrorKind::Timeout => "Berth.Timeout",
            ErrorKind::Internal => "Berth.Internal",
        }
    }

    /// Whether the state machines retry this kind.
    pub const fn is_transient(self) -> bool {
        matches!(self, ErrorKind::Transient)
    }

    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken rule: the field (a JSON path into the request) and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Violation {
    pub field: String,
    pub rule: String,
}

/// The longest field path and rule a violation keeps: a caller's value quoted in either
/// (an unknown product, a variable's name) is cut, never repeated whole.
pub const FIELD_MAX: usize = 160;
pub const RULE_MAX: usize = 400;
/// How many violations an error's message lists; the rest are counted.
pub const SHOWN_MAX: usize = 20;

impl Violation {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Violation { field: cut(field.into(), FIELD_MAX), rule: cut(rule.into(), RULE_MAX) }
    }
}

/// At most `max` characters, with an ellipsis when cut.
pub fn cut(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let mut s: String = text.chars().take(max).collect();
    s.push('…');
    s
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

/// Every rule a request breaks, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(pub Vec<Violation>);

impl Violations {
    pub fn push(&mut self, field: impl Into<String>, rule: impl Into<String>) {
        self.0.push(Violation::new(field, rule));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Violation> {
        self.0.iter()
    }
    pub fn fields(&self) -> Vec<&str> {
        self.0.iter().map(|v| v.field.as_str()).collect()
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().take(SHOWN_MAX).enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        if self.0.len() > SHOWN_MAX {
            write!(f, "; and {} more", self.0.len() - SHOWN_MAX)?;
        }
        Ok(())
    }
}

/// A boxed underlying error (an SDK error, a JSON error), kept structured for logs.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// berth's one error type. Adapters classify AWS errors into it at the boundary; steps
/// return it; the Lambda binaries turn it into a `Diagnostic` whose `error_type` is
/// [`BerthError::kind`]'s name.
#[derive(Debug, thiserror::Error)]
pub enum BerthError {
    #[error("invalid request: {0}")]
    InvalidRequest(Violations),

    #[error("{0}")]
    Conflict(String),

    #[error("{0}")]
    NotFound(String),

    #[error("{0}")]
    QuotaExceeded(String),

    #[error("{0}")]
    Timeout(String),

    #[error("{0}")]
    Transient(String),

    /// An AWS call failed. `kind` is the classification made at the adapter boundary;
    /// `code` is the AWS error code when the service sent one.
    #[error("{service}.{operation} failed ({}){}", code.as_deref().unwrap_or("no error code"), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Aws {
        kind: ErrorKind,
        service: &'static str,
        operation: &'static str,
        code: Option<String>,
        message: Option<String>,
        #[source]
        source: Source,
    },

    #[error("{0}")]
    Internal(String),
}

impl BerthError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            BerthError::InvalidRequest(_) => ErrorKind::InvalidRequest,
            BerthError::Conflict(_) => ErrorKind::Conflict,
            BerthError::NotFound(_) => ErrorKind::NotFound,
            BerthError::QuotaExceeded(_) => ErrorKind::QuotaExceeded,
            BerthError::Timeout(_) => ErrorKind::Timeout,
            BerthError::Transient(_) => ErrorKind::Transient,
            BerthError::Aws { kind, .. } => *kind,
            BerthError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The AWS error code, when this is an AWS error that carried one.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            BerthError::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        BerthError::InvalidRequest(Violations(vec![Violation::new(field, rule)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_prefixed() {
        let mut names: Vec<_> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
        assert!(names.iter().all(|n| n.starts_with("Berth.")));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_name(k.name()), Some(k));
        }
        assert_eq!(ErrorKind::from_name("Berth.Nope"), None);
    }

    #[test]
    fn violations_repeat_no_long_value_and_list_a_bounded_number() {
        let long = "ü".repeat(80_000);
        let v = Violation::new(format!("products.{long}"), format!("unknown product '{long}'"));
        assert!(v.field.chars().count() <= FIELD_MAX + 1 && v.rule.chars().count() <= RULE_MAX + 1);
        let many = Violations((0..10_000).map(|i| Violation::new(format!("environment.V{i}"), "bad")).collect());
        let text = many.to_string();
        assert!(text.ends_with("; and 9980 more") && text.len() < 2_000, "{}", text.len());
    }

    #[test]
    fn violations_name_field_and_rule() {
        let e = BerthError::invalid("customer_id", "must be 3-40 characters");
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert_eq!(e.to_string(), "invalid request: customer_id: must be 3-40 characters");
    }
}

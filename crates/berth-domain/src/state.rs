//! The lifecycle states of a customer record.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CustomerState {
    /// An execution is building the customer's environment.
    Provisioning,
    /// Everything is up and the host resolves to the ALB.
    Active,
    /// An execution failed for good and everything it made was undone; the record says
    /// which error and why.
    Failed,
    /// An execution failed and its cleanup could not finish; the record lists what is left.
    RollbackFailed,
}

impl CustomerState {
    pub const fn as_str(self) -> &'static str {
        match self {
            CustomerState::Provisioning => "PROVISIONING",
            CustomerState::Active => "ACTIVE",
            CustomerState::Failed => "FAILED",
            CustomerState::RollbackFailed => "ROLLBACK_FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<CustomerState> {
        [CustomerState::Provisioning, CustomerState::Active, CustomerState::Failed, CustomerState::RollbackFailed]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

impl std::fmt::Display for CustomerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// An update execution is changing the customer's services.
    Updating,
    /// A suspend execution is scaling the services to 0.
    Suspending,
    /// Every service at 0 tasks, its counts remembered; DNS, rules and target groups stay.
    Suspended,
    /// A resume execution is restoring the counts and waiting for health.
    Resuming,
    /// An offboarding execution is removing everything.
    Deprovisioning,
    /// Offboarded: a tombstone with the history; the id may be onboarded again.
    Deleted,
    /// A lifecycle execution failed and could not put everything back: the record lists
    /// what is left. Offboarding, resume and update may start from here.
    Degraded,
}

impl CustomerState {
    pub const ALL: [CustomerState; 11] = [
        CustomerState::Provisioning,
        CustomerState::Active,
        CustomerState::Failed,
        CustomerState::RollbackFailed,
        CustomerState::Updating,
        CustomerState::Suspending,
        CustomerState::Suspended,
        CustomerState::Resuming,
        CustomerState::Deprovisioning,
        CustomerState::Deleted,
        CustomerState::Degraded,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            CustomerState::Provisioning => "PROVISIONING",
            CustomerState::Active => "ACTIVE",
            CustomerState::Failed => "FAILED",
            CustomerState::RollbackFailed => "ROLLBACK_FAILED",
            CustomerState::Updating => "UPDATING",
            CustomerState::Suspending => "SUSPENDING",
            CustomerState::Suspended => "SUSPENDED",
            CustomerState::Resuming => "RESUMING",
            CustomerState::Deprovisioning => "DEPROVISIONING",
            CustomerState::Deleted => "DELETED",
            CustomerState::Degraded => "DEGRADED",
        }
    }

    pub fn parse(s: &str) -> Option<CustomerState> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// An execution holds the customer: any other lifecycle execution is refused.
    pub const fn in_progress(self) -> bool {
        matches!(
            self,
            CustomerState::Provisioning
                | CustomerState::Updating
                | CustomerState::Suspending
                | CustomerState::Resuming
                | CustomerState::Deprovisioning
        )
    }

    /// A new onboarding may take the id: nothing of a customer is running under it.
    pub const fn onboardable(self) -> bool {
        matches!(self, CustomerState::Failed | CustomerState::RollbackFailed | CustomerState::Deleted)
    }
}

impl std::fmt::Display for CustomerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        for s in CustomerState::ALL {
            assert_eq!(CustomerState::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::Value::String(s.as_str().into())));
        }
        assert_eq!(CustomerState::parse("GONE"), None);
    }
}

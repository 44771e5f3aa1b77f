//! Classification of AWS SDK errors into berth's error vocabulary.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use berth_domain::{BerthError, ErrorKind};

/// Error codes worth retrying: throttling, server faults, transaction races.
pub const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "PriorRequestNotComplete",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServiceError",
    "ServerException",
    "RequestTimeout",
    "RequestTimeoutException",
    "TransactionConflictException",
    "TransactionInProgressException",
    "OperationAbortedException",
    "ConcurrentUpdateException",
];

/// Error codes that say a quota or limit is reached.
pub const QUOTA_CODES: &[&str] = &[
    "TooManyRules",
    "TooManyTargetGroups",
    "TooManyUniqueTargetGroupsPerLoadBalancer",
    "TooManyTags",
    "TooManyActions",
    "TooManyTargets",
    "TooManyCertificates",
    "TooManyLoadBalancers",
    "LimitExceededException",
    "LimitExceeded",
    "ServiceQuotaExceededException",
    "SecurityGroupLimitExceeded",
    "RulesPerSecurityGroupLimitExceeded",
];

/// Error codes that say something already exists or is in use.
pub const CONFLICT_CODES: &[&str] = &[
    "PriorityInUse",
    "DuplicateTargetGroupName",
    "ResourceInUse",
    "ResourceAlreadyExistsException",
    "ConditionalCheckFailedException",
    "DuplicateListener",
    "InvalidChangeBatch",
    "EntityAlreadyExists",
    "InvalidGroup.Duplicate",
];

/// Error codes that say a needed resource is missing.
pub const NOT_FOUND_CODES: &[&str] = &[
    "TargetGroupNotFound",
    "ListenerNotFound",
    "LoadBalancerNotFound",
    "RuleNotFound",
    "ClusterNotFoundException",
    "ServiceNotFoundException",
    "NoSuchHostedZone",
    "ResourceNotFoundException",
    "ObjectNotFoundException",
    "NoSuchEntity",
    "InvalidGroup.NotFound",
    "InvalidVpcID.NotFound",
];

/// The kind for an AWS error code and HTTP status.
pub fn kind_for(code: Option<&str>, status: Option<u16>) -> ErrorKind {
    if let Some(code) = code {
        if TRANSIENT_CODES.contains(&code) {
            return ErrorKind::Transient;
        }
        if QUOTA_CODES.contains(&code) {
            return ErrorKind::QuotaExceeded;
        }
        if CONFLICT_CODES.contains(&code) {
            return ErrorKind::Conflict;
        }
        if NOT_FOUND_CODES.contains(&code) {
            return ErrorKind::NotFound;
        }
    }
    match status {
        Some(429) => ErrorKind::Transient,
        Some(s) if s >= 500 => ErrorKind::Transient,
        _ => ErrorKind::Internal,
    }
}

/// Classifies an SDK error, keeping it as the source.
pub fn classify<E>(service: &'static str, operation: &'static str, err: SdkError<E, HttpResponse>) -> BerthError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, code, message) = match &err {
        SdkError::ServiceError(se) => {
            let code = se.err().code().map(str::to_string);
            let message = se.err().message().map(str::to_string);
            let status = se.raw().status().as_u16();
            (kind_for(code.as_deref(), Some(status)), code, message)
        }
        // The request never got an answer we could read: the network, a timeout, a
        // truncated response. All of these are worth another try.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => (ErrorKind::Transient, None, None),
        // The request could not even be built: a bug, not worth retrying.
        _ => (ErrorKind::Internal, None, None),
    };
    BerthError::Aws { kind, service, operation, code, message, source: Box::new(err) }
}

/// A builder that rejected its input: a programming error.
pub fn built<T>(r: Result<T, aws_smithy_types::error::operation::BuildError>) -> Result<T, BerthError> {
    r.map_err(|e| BerthError::Internal(format!("could not build an AWS request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_map_to_kinds() {
        assert_eq!(kind_for(Some("ThrottlingException"), Some(400)), ErrorKind::Transient);
        assert_eq!(kind_for(Some("Throttling"), Some(400)), ErrorKind::Transient);
        assert_eq!(kind_for(Some("PriorRequestNotComplete"), Some(400)), ErrorKind::Transient);
        assert_eq!(kind_for(Some("TooManyRules"), Some(400)), ErrorKind::QuotaExceeded);
        assert_eq!(kind_for(Some("PriorityInUse"), Some(400)), ErrorKind::Conflict);
        assert_eq!(kind_for(Some("ListenerNotFound"), Some(400)), ErrorKind::NotFound);
        assert_eq!(kind_for(Some("AccessDeniedException"), Some(400)), ErrorKind::Internal);
        assert_eq!(kind_for(None, Some(503)), ErrorKind::Transient);
        assert_eq!(kind_for(Some("Whatever"), Some(500)), ErrorKind::Transient);
        assert_eq!(kind_for(None, Some(429)), ErrorKind::Transient);
        assert_eq!(kind_for(None, Some(400)), ErrorKind::Internal);
    }
}

//! Checking and cleaning what callers send: trimmed, empty means absent, names and texts
//! validated with errors that say what is allowed.

use crate::domain::session::{check_id, check_text};
use crate::domain::session_name;
use crate::service::ServiceError;

pub(super) fn invalid_name(field: &str, name: &str) -> Result<(), ServiceError> {
    session_name::validate(name).map_err(|e| ServiceError::invalid(format!("{field}: {e}")))
}

pub(super) fn clean(field: &str, value: Option<String>) -> Result<Option<String>, ServiceError> {
    let value = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    if let Some(v) = &value {
        check_text(field, v).map_err(ServiceError::invalid)?;
    }
    Ok(value)
}

pub(super) fn clean_id(field: &str, value: Option<String>) -> Result<Option<String>, ServiceError> {
    let value = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    if let Some(v) = &value {
        check_id(field, v).map_err(ServiceError::invalid)?;
    }
    Ok(value)
}

pub(super) fn clean_name(
    field: &str,
    value: Option<String>,
) -> Result<Option<String>, ServiceError> {
    let value = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    if let Some(v) = &value {
        invalid_name(field, v)?;
    }
    Ok(value)
}

pub(super) fn busy(what: &str, name: &str) -> ServiceError {
    ServiceError::new(
        "conflict",
        format!("{what} {name} kept changing while we wrote it; try again"),
    )
}

//! Rolling-update budgets: maxUnavailable and maxSurge resolved against the desired node count (spec §2.2 R1–R6).

use k8s_openapi::api::apps::v1::{DaemonSet, RollingUpdateDaemonSet};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// `spec.updateStrategy.type` value selecting the rolling update.
pub const STRATEGY_ROLLING_UPDATE: &str = "RollingUpdate";
/// `spec.updateStrategy.type` value selecting OnDelete.
pub const STRATEGY_ON_DELETE: &str = "OnDelete";

/// Why a budget could not be resolved (messages follow upstream `intstr` and `update.go`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// `maxUnavailable` is nil under RollingUpdate (spec §2.2 R3).
    #[error("nil value for IntOrString")]
    Nil,
    /// A string that does not end in `%` (spec §2.2 R2).
    #[error("invalid value for IntOrString: invalid type: string is not a percentage")]
    NotAPercentage,
    /// A percent whose digits do not parse.
    #[error(
        "invalid value for IntOrString: invalid value {0:?}: strconv.Atoi: parsing {1:?}: invalid syntax"
    )]
    BadPercent(String, String),
    /// maxUnavailable failed to resolve.
    #[error("invalid value for MaxUnavailable: {0}")]
    MaxUnavailable(#[source] Box<BudgetError>),
    /// maxSurge failed to resolve.
    #[error("invalid value for MaxSurge: {0}")]
    MaxSurge(#[source] Box<BudgetError>),
}

/// Upstream `intstr.GetScaledValueFromIntOrPercent`: ints as is; `"<n>%"` scaled against
/// `total`, rounded up (`round_up`) or down, computed in floating point like Go.
pub fn scaled_value(
    value: Option<&IntOrString>,
    total: i32,
    round_up: bool,
) -> Result<i32, BudgetError> {
    match value {
        None => Err(BudgetError::Nil),
        Some(IntOrString::Int(v)) => Ok(*v),
        Some(IntOrString::String(s)) => {
            let Some(digits) = s.strip_suffix('%') else {
                return Err(BudgetError::NotAPercentage);
            };
            let percent: i64 = digits
                .parse()
                .map_err(|_| BudgetError::BadPercent(s.clone(), digits.to_string()))?;
            let scaled = percent as f64 * f64::from(total) / 100.0;
            let rounded = if round_up {
                scaled.ceil()
            } else {
                scaled.floor()
            };
            // `as` saturates; values beyond i32 are meaningless for a node count anyway.
            Ok(rounded as i32)
        }
    }
}

fn rolling_update(ds: &DaemonSet) -> Option<&RollingUpdateDaemonSet> {
    let strategy = ds.spec.as_ref()?.update_strategy.as_ref()?;
    if strategy.type_.as_deref() != Some(STRATEGY_ROLLING_UPDATE) {
        return None;
    }
    strategy.rolling_update.as_ref()
}

/// Whether the DaemonSet uses the RollingUpdate strategy (spec §2.1 U2).
pub fn is_rolling_update(ds: &DaemonSet) -> bool {
    ds.spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        == Some(STRATEGY_ROLLING_UPDATE)
}

/// Upstream `SurgeCount` (spec §2.2 R3): 0 unless RollingUpdate with a maxSurge.
pub fn surge_count(ds: &DaemonSet, total: i32) -> Result<i32, BudgetError> {
    match rolling_update(ds) {
        Some(r) if r.max_surge.is_some() => scaled_value(r.max_surge.as_ref(), total, true),
        _ => Ok(0),
    }
}

/// Upstream `UnavailableCount` (spec §2.2 R3): 0 unless RollingUpdate; nil maxUnavailable errs.
pub fn unavailable_count(ds: &DaemonSet, total: i32) -> Result<i32, BudgetError> {
    match rolling_update(ds) {
        Some(r) => scaled_value(r.max_unavailable.as_ref(), total, true),
        None => Ok(0),
    }
}

/// Upstream `AllowsSurge` (spec §2.2 R5): maxSurge resolves to > 0 against a total of 1.
pub fn allows_surge(ds: &DaemonSet) -> bool {
    matches!(surge_count(ds, 1), Ok(n) if n > 0)
}

/// The rolling-update budget for one sync (upstream `updatedDesiredNodeCounts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Resolved maxSurge.
    pub max_surge: i32,
    /// Resolved maxUnavailable, after the safety net.
    pub max_unavailable: i32,
    /// Nodes that should run the daemon.
    pub desired: i32,
}

/// Resolves both budgets against `desired` (spec §2.2 R2–R4).
pub fn budget(ds: &DaemonSet, desired: i32) -> Result<Budget, BudgetError> {
    let max_unavailable =
        unavailable_count(ds, desired).map_err(|e| BudgetError::MaxUnavailable(Box::new(e)))?;
    let max_surge = surge_count(ds, desired).map_err(|e| BudgetError::MaxSurge(Box::new(e)))?;
    // spec §2.2 R4: an object that bypassed validation with both at 0 would never progress.
    let max_unavailable = if desired > 0 && max_unavailable == 0 && max_surge == 0 {
        1
    } else {
        max_unavailable
    };
    Ok(Budget {
        max_surge,
        max_unavailable,
        desired,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percents_round_up_and_down_like_intstr() {
        let p = |s: &str| IntOrString::String(s.to_string());
        assert_eq!(scaled_value(Some(&p("50%")), 3, true), Ok(2));
        assert_eq!(scaled_value(Some(&p("50%")), 3, false), Ok(1));
        assert_eq!(scaled_value(Some(&p("1%")), 1, true), Ok(1));
        assert_eq!(scaled_value(Some(&p("0%")), 5, true), Ok(0));
        assert_eq!(scaled_value(Some(&IntOrString::Int(7)), 3, true), Ok(7));
        assert_eq!(
            scaled_value(Some(&p("5")), 3, true),
            Err(BudgetError::NotAPercentage)
        );
        assert_eq!(scaled_value(None, 3, true), Err(BudgetError::Nil));
        assert!(matches!(
            scaled_value(Some(&p("x%")), 3, true),
            Err(BudgetError::BadPercent(..))
        ));
    }
}

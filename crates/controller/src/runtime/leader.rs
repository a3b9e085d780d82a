//! Lease-based leader election with client-go `leaderelection` semantics: a pure decision over the
//! current Lease ([`decide`]) and an elector that carries it out through the API ([`LeaderElector`]).
//!
//! Upstream's shape (`k8s.io/client-go/tools/leaderelection`): candidates poll the Lease every
//! retry period; a free or expired Lease is taken with an update guarded by its resourceVersion, so
//! of two candidates racing for it exactly one write succeeds and the other gets 409; the holder
//! renews every retry period and, if it cannot renew within the renew deadline, stops leading.
//! kube-controller-manager then exits the process, and so does `everynode controller`.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::PostParams;
use tokio::sync::watch;

/// client-go's `JitterFactor`: candidates wait between one and 1.2 retry periods, and the renew
/// deadline must exceed 1.2 retry periods so a renewal gets at least one retry.
const JITTER_FACTOR: f64 = 1.2;

/// Errors of leader election.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The durations break client-go's ordering (lease > renew deadline > 1.2 × retry period > 0).
    #[error("invalid leader election timing: {0}")]
    InvalidTiming(String),
    /// The identity is empty (upstream rejects it: the Lease could not tell holders apart).
    #[error("leader election identity must not be empty")]
    EmptyIdentity,
    /// The leader could not renew within the renew deadline, or saw another holder.
    #[error("lost the leader lease {namespace}/{name}: {reason}")]
    Lost {
        namespace: String,
        name: String,
        reason: String,
    },
}

/// Where the Lease lives, who we are and how the timing goes (client-go `LeaderElectionConfig`).
#[derive(Debug, Clone)]
pub struct LeaderElectionConfig {
    pub namespace: String,
    pub name: String,
    /// The holderIdentity written into the Lease; upstream uses hostname + `_` + a random suffix.
    pub identity: String,
    /// How long a non-leader waits after the last renewal before taking over (upstream 15 s).
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leading (upstream 10 s).
    pub renew_deadline: Duration,
    /// How often candidates try to acquire and the leader renews (upstream 2 s).
    pub retry_period: Duration,
}

impl LeaderElectionConfig {
    /// Checks client-go's `NewLeaderElector` invariants, so a misconfiguration fails at start
    /// rather than as two leaders later.
    pub fn validate(&self) -> Result<(), LeaderError> {
        let invalid = |message: String| Err(LeaderError::InvalidTiming(message));
        if self.identity.is_empty() {
            return Err(LeaderError::EmptyIdentity);
        }
        if self.retry_period.is_zero() {
            return invalid("the retry period must be greater than zero".into());
        }
        if self.lease_duration <= self.renew_deadline {
            return invalid(format!(
                "the lease duration ({:?}) must be greater than the renew deadline ({:?})",
                self.lease_duration, self.renew_deadline
            ));
        }
        if self.renew_deadline.as_secs_f64() <= JITTER_FACTOR * self.retry_period.as_secs_f64() {
            return invalid(format!(
                "the renew deadline ({:?}) must be greater than {JITTER_FACTOR} × the retry period ({:?})",
                self.renew_deadline, self.retry_period
            ));
        }
        if self.lease_duration.as_secs() < 1 {
            return invalid(
                "the lease duration must be at least 1s (the Lease stores whole seconds)".into(),
            );
        }
        Ok(())
    }
}

/// What a candidate should do with the Lease as it stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// No Lease exists: create it, holding it.
    Create(LeaseSpec),
    /// The Lease is free or expired: take it over (new acquireTime, one more transition).
    Acquire(LeaseSpec),
    /// We hold the Lease: move renewTime forward.
    Renew(LeaseSpec),
    /// Another candidate holds an unexpired Lease until `expires`.
    Wait { holder: String, expires: Timestamp },
}

impl Decision {
    /// Whether carrying this decision out makes us the leader.
    pub fn leads(&self) -> bool {
        !matches!(self, Decision::Wait { .. })
    }
}

/// Decides from the current Lease spec (`None` when there is no Lease), our identity, our lease
/// duration and the time. Mirrors client-go `tryAcquireOrRenew`: a record held by someone else
/// counts until renewTime + its leaseDurationSeconds; an empty holder (a released Lease) is free.
/// client-go measures expiry from when it last saw the record change, on its own clock; we read
/// renewTime, which is equivalent when the candidates' clocks agree (they share a host or NTP).
pub fn decide(
    current: Option<&LeaseSpec>,
    identity: &str,
    lease_duration: Duration,
    now: Timestamp,
) -> Decision {
    let seconds = i32::try_from(lease_duration.as_secs()).unwrap_or(i32::MAX);
    let held = |acquire_time, transitions| LeaseSpec {
        holder_identity: Some(identity.to_owned()),
        lease_duration_seconds: Some(seconds),
        acquire_time: Some(MicroTime(acquire_time)),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    };
    let Some(current) = current else {
        return Decision::Create(held(now, 0));
    };
    let holder = current.holder_identity.as_deref().unwrap_or_default();
    let transitions = current.lease_transitions.unwrap_or(0);
    if holder == identity {
        // Renewing keeps acquireTime and the transition count (client-go copies them over).
        let acquired = current.acquire_time.as_ref().map_or(now, |t| t.0);
        return Decision::Renew(held(acquired, transitions));
    }
    if !holder.is_empty() {
        let duration = current.lease_duration_seconds.map_or(seconds, |s| s.max(0));
        let renewed = current
            .renew_time
            .as_ref()
            .or(current.acquire_time.as_ref())
            .map(|t| t.0);
        if let Some(renewed) = renewed {
            let expires = renewed
                .checked_add(SignedDuration::from_secs(i64::from(duration)))
                .unwrap_or(Timestamp::MAX);
            if expires > now {
                return Decision::Wait {
                    holder: holder.to_owned(),
                    expires,
                };
            }
        }
    }
    Decision::Acquire(held(now, transitions.saturating_add(1)))
}

/// The spec client-go writes when a leader releases its Lease on shutdown (`ReleaseOnCancel`):
/// no holder and a one-second duration, so a standby takes over at its next retry.
pub fn released(current: &LeaseSpec, now: Timestamp) -> LeaseSpec {
    LeaseSpec {
        holder_identity: None,
        lease_duration_seconds: Some(1),
        acquire_time: Some(MicroTime(now)),
        renew_time: Some(MicroTime(now)),
        lease_transitions: current.lease_transitions,
        ..LeaseSpec::default()
    }
}

/// Now, truncated to the microseconds a MicroTime keeps, so what we write is what we read back.
fn now_micros() -> Timestamp {
    let now = Timestamp::now();
    let micros = now.as_microsecond();
    Timestamp::from_microsecond(micros).unwrap_or(now)
}

/// Carries [`decide`] out against the API server.
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaderElectionConfig,
}

/// Leadership while it lasts: a background task renews the Lease; [`Leadership::lost`] resolves
/// when renewal fails past the renew deadline.
pub struct Leadership {
    lost: watch::Receiver<Option<String>>,
    renewer: tokio::task::JoinHandle<()>,
    api: Api<Lease>,
    config: LeaderElectionConfig,
}

/// One attempt's result.
enum Attempt {
    Leading,
    Following { holder: String },
}

impl LeaderElector {
    /// An elector for `config` (validated first).
    pub fn new(client: kube::Client, config: LeaderElectionConfig) -> Result<Self, LeaderError> {
        config.validate()?;
        Ok(Self {
            api: Api::namespaced(client, &config.namespace),
            config,
        })
    }

    /// Waits until this candidate holds the Lease, then keeps renewing it in the background.
    pub async fn acquire(self) -> Leadership {
        let mut last_holder = String::new();
        loop {
            match try_acquire_or_renew(&self.api, &self.config).await {
                Ok(Attempt::Leading) => break,
                Ok(Attempt::Following { holder }) => {
                    if holder != last_holder {
                        tracing::info!(%holder, "waiting for the leader lease");
                        last_holder = holder;
                    }
                }
                Err(e) => tracing::warn!("leader election attempt failed: {e}"),
            }
            tokio::time::sleep(jittered(self.config.retry_period)).await;
        }
        tracing::info!(identity = %self.config.identity, "acquired the leader lease");
        let (report, lost) = watch::channel(None);
        let renewer = tokio::spawn(renew(self.api.clone(), self.config.clone(), report));
        Leadership {
            lost,
            renewer,
            api: self.api,
            config: self.config,
        }
    }
}

/// One round of client-go `tryAcquireOrRenew`: read, decide, write guarded by resourceVersion.
async fn try_acquire_or_renew(
    api: &Api<Lease>,
    config: &LeaderElectionConfig,
) -> Result<Attempt, kube::Error> {
    let current = api.get_opt(&config.name).await?;
    let now = now_micros();
    let decision = decide(
        current.as_ref().and_then(|l| l.spec.as_ref()),
        &config.identity,
        config.lease_duration,
        now,
    );
    let spec = match decision {
        Decision::Wait { holder, .. } => return Ok(Attempt::Following { holder }),
        Decision::Create(spec) | Decision::Acquire(spec) | Decision::Renew(spec) => spec,
    };
    let write = match current {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(config.name.clone()),
                    namespace: Some(config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(spec),
            };
            api.create(&PostParams::default(), &lease).await
        }
        Some(mut lease) => {
            // The read resourceVersion stays in metadata: a concurrent writer makes this a 409.
            lease.spec = Some(spec);
            api.replace(&config.name, &PostParams::default(), &lease)
                .await
        }
    };
    match write {
        Ok(_) => Ok(Attempt::Leading),
        // Another candidate wrote first (409 on update, or on create of a Lease it just made).
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(Attempt::Following {
            holder: String::new(),
        }),
        Err(e) => Err(e),
    }
}

/// The leader's loop (client-go `renew`): every retry period, renew; a round that cannot succeed
/// within the renew deadline, or that finds another holder, ends leadership.
async fn renew(
    api: Api<Lease>,
    config: LeaderElectionConfig,
    report: watch::Sender<Option<String>>,
) {
    let mut last_renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(config.retry_period).await;
        let deadline = last_renewed + config.renew_deadline;
        let attempt = tokio::time::timeout_at(deadline, try_acquire_or_renew(&api, &config)).await;
        let reason = match attempt {
            Ok(Ok(Attempt::Leading)) => {
                last_renewed = tokio::time::Instant::now();
                continue;
            }
            Ok(Ok(Attempt::Following { holder })) if !holder.is_empty() => {
                format!("the lease is now held by {holder}")
            }
            // A conflict without a known holder: read again while the deadline allows.
            Ok(Ok(Attempt::Following { .. })) if tokio::time::Instant::now() < deadline => {
                continue;
            }
            Ok(Ok(Attempt::Following { .. })) => {
                format!(
                    "no renewal within {:?}: write conflicts",
                    config.renew_deadline
                )
            }
            Ok(Err(e)) if tokio::time::Instant::now() < deadline => {
                tracing::warn!("failed to renew the leader lease, retrying: {e}");
                continue;
            }
            Ok(Err(e)) => format!("no renewal within {:?}: {e}", config.renew_deadline),
            Err(_) => format!("no renewal within {:?}", config.renew_deadline),
        };
        let _ = report.send(Some(reason));
        return;
    }
}

/// A wait of one to 1.2 retry periods (client-go `wait.JitterUntil` with `JitterFactor`), so
/// candidates that start together do not poll in lockstep.
fn jittered(period: Duration) -> Duration {
    // The sub-second clock is random enough to spread candidates; no RNG dependency needed.
    let fraction = f64::from(Timestamp::now().subsec_nanosecond().unsigned_abs() % 1000) / 1000.0;
    period.mul_f64(1.0 + (JITTER_FACTOR - 1.0) * fraction)
}

// === impl Leadership ===

impl Leadership {
    /// Resolves when leadership is lost; the caller must stop writing at once.
    pub async fn lost(&mut self) -> LeaderError {
        let reason = match self.lost.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone().unwrap_or_default(),
            Err(_) => "the renewal task ended".to_owned(),
        };
        LeaderError::Lost {
            namespace: self.config.namespace.clone(),
            name: self.config.name.clone(),
            reason,
        }
    }

    /// Stops renewing and gives the Lease up if we still hold it (client-go `ReleaseOnCancel`),
    /// so a standby takes over at its next retry instead of after the lease duration.
    pub async fn release(self) {
        self.renewer.abort();
        let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_ref() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        lease.spec = Some(released(spec, now_micros()));
        if let Err(e) = self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            tracing::warn!("failed to release the leader lease: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(15);

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn held_by(holder: &str, acquired: i64, renewed: i64, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime(at(acquired))),
            renew_time: Some(MicroTime(at(renewed))),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn no_lease_is_created_with_us_holding_it() {
        let decision = decide(None, "a", LEASE, at(0));
        assert_eq!(decision, Decision::Create(held_by("a", 0, 0, 0)));
    }

    #[test]
    fn our_own_lease_is_renewed_keeping_acquire_time_and_transitions() {
        let current = held_by("a", 0, 10, 3);
        let decision = decide(Some(&current), "a", LEASE, at(12));
        assert_eq!(decision, Decision::Renew(held_by("a", 0, 12, 3)));
    }

    #[test]
    fn a_live_lease_of_another_holder_makes_us_wait_until_it_expires() {
        let current = held_by("b", 0, 10, 1);
        let decision = decide(Some(&current), "a", LEASE, at(24));
        assert_eq!(
            decision,
            Decision::Wait {
                holder: "b".into(),
                expires: at(25)
            }
        );
        assert!(!decision.leads());
    }

    #[test]
    fn an_expired_lease_is_taken_over_with_one_more_transition() {
        let current = held_by("b", 0, 10, 1);
        let decision = decide(Some(&current), "a", LEASE, at(26));
        assert_eq!(decision, Decision::Acquire(held_by("a", 26, 26, 2)));
    }

    #[test]
    fn expiry_uses_the_duration_recorded_in_the_lease() {
        // client-go reads leaseDurationSeconds from the record, not its own flag.
        let mut current = held_by("b", 0, 10, 0);
        current.lease_duration_seconds = Some(60);
        assert!(!decide(Some(&current), "a", LEASE, at(30)).leads());
        assert!(decide(Some(&current), "a", LEASE, at(71)).leads());
    }

    #[test]
    fn a_released_lease_is_free_at_once() {
        let released = released(&held_by("b", 0, 10, 4), at(11));
        let decision = decide(Some(&released), "a", LEASE, at(11));
        assert_eq!(decision, Decision::Acquire(held_by("a", 11, 11, 5)));
    }

    #[test]
    fn a_holder_without_times_counts_as_expired() {
        let current = LeaseSpec {
            holder_identity: Some("b".into()),
            ..LeaseSpec::default()
        };
        assert!(decide(Some(&current), "a", LEASE, at(0)).leads());
    }

    #[test]
    fn timing_must_follow_client_go_ordering() {
        let config = |lease, renew, retry| LeaderElectionConfig {
            namespace: "kube-system".into(),
            name: "x".into(),
            identity: "a".into(),
            lease_duration: Duration::from_millis(lease),
            renew_deadline: Duration::from_millis(renew),
            retry_period: Duration::from_millis(retry),
        };
        assert!(config(15_000, 10_000, 2_000).validate().is_ok());
        assert!(config(3_000, 2_000, 500).validate().is_ok());
        assert!(config(10_000, 10_000, 2_000).validate().is_err());
        assert!(config(15_000, 2_000, 2_000).validate().is_err());
        assert!(config(15_000, 10_000, 0).validate().is_err());
        let mut nameless = config(15_000, 10_000, 2_000);
        nameless.identity.clear();
        assert!(matches!(
            nameless.validate(),
            Err(LeaderError::EmptyIdentity)
        ));
    }

    #[test]
    fn micro_time_round_trips_in_the_upstream_format() {
        let now = now_micros();
        let text = serde_json::to_string(&MicroTime(now)).unwrap_or_default();
        assert_eq!(
            text.len(),
            "\"2006-01-02T15:04:05.000000Z\"".len(),
            "{text}"
        );
        let back: MicroTime = serde_json::from_str(&text).unwrap_or(MicroTime(Timestamp::MIN));
        assert_eq!(back.0, now);
    }
}

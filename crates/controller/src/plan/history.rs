//! ControllerRevisions as pure decisions: which revision is current, what to create, renumber, dedup, relabel and clean up (spec §2.6–§2.8).

use std::collections::{BTreeMap, HashSet};

use everynode_core::keys::CONTROLLER_REVISION_HASH_LABEL;
use everynode_core::labels::Selector;
use everynode_core::pod::controller_ref;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::Value;

use super::Claim;
use super::hash::{compute_hash, revision_data};
use super::pod_template::controller_owner_ref;

/// Default `spec.revisionHistoryLimit` (spec §2.7 T1).
pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;

/// Why history could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The template could not be encoded.
    #[error("failed to construct revisions of DaemonSet: {0}")]
    Encode(#[source] serde_json::Error),
}

/// An old (non-current) revision, as cleanup needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldRevision {
    /// CR name.
    pub name: String,
    /// `revision`.
    pub revision: i64,
    /// Its hash label (the name for legacy CRs without one).
    pub hash: String,
}

/// The decisions of upstream `constructHistory` (spec §2.6 H4).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPlan {
    /// The current hash: the pods' `controller-revision-hash` for this sync.
    pub hash: String,
    /// Name of the current CR (existing or to create).
    pub current_name: String,
    /// Revision the current CR has after this plan.
    pub current_revision: i64,
    /// A CR to create when none matches the template (spec §2.6 H3).
    pub create: Option<ControllerRevision>,
    /// Existing current CR whose revision must be raised to `current_revision` (rollback, B2).
    pub renumber: Option<String>,
    /// Duplicate current CRs to delete (spec §2.6 H4).
    pub delete_duplicates: Vec<String>,
    /// Pods whose hash label must be set to `hash` (only when duplicates were found, H4).
    pub relabel_pods: Vec<String>,
    /// Legacy CRs without a hash label: set the label to the CR's name (H4).
    pub label_fixups: Vec<String>,
    /// Orphan CRs matching the selector, to adopt (spec §1.5 P3).
    pub adopt: Vec<Claim>,
    /// Owned CRs no longer matching the selector, to release (P3).
    pub release: Vec<Claim>,
    /// Old revisions, for [`revisions_to_clean_up`].
    pub old: Vec<OldRevision>,
}

fn hash_label(meta: &ObjectMeta) -> Option<&str> {
    meta.labels
        .as_ref()?
        .get(CONTROLLER_REVISION_HASH_LABEL)
        .map(String::as_str)
}

/// Plans history for `ds` from the CRs of its namespace and the pods it claims (spec §2.6).
/// A CR matches when its `data` equals this DaemonSet's encoding (H1; JSON values compared,
/// so key order is irrelevant).
pub fn plan_history<'p>(
    ds: &DaemonSet,
    selector: &Selector,
    revisions: &[ControllerRevision],
    pod_hashes: impl IntoIterator<Item = (&'p str, Option<&'p str>)>,
) -> Result<HistoryPlan, HistoryError> {
    let empty = Default::default();
    let spec = ds.spec.as_ref();
    let template = spec.map(|s| &s.template).unwrap_or(&empty);
    let data = revision_data(template).map_err(HistoryError::Encode)?;
    let ds_uid = ds.metadata.uid.as_deref().unwrap_or("");
    let ds_ns = ds.metadata.namespace.as_deref().unwrap_or("");
    let mut plan = HistoryPlan {
        hash: String::new(),
        current_name: String::new(),
        current_revision: 0,
        create: None,
        renumber: None,
        delete_duplicates: Vec::new(),
        relabel_pods: Vec::new(),
        label_fixups: Vec::new(),
        adopt: Vec::new(),
        release: Vec::new(),
        old: Vec::new(),
    };
    let mut current: Vec<(&ControllerRevision, String)> = Vec::new();
    for cr in revisions {
        if cr.metadata.namespace.as_deref().unwrap_or("") != ds_ns {
            continue;
        }
        let name = cr.metadata.name.clone().unwrap_or_default();
        let labels_match = selector.matches_opt(cr.metadata.labels.as_ref());
        match controller_ref(&cr.metadata) {
            Some(owner) if owner.uid == ds_uid => {
                if !labels_match {
                    plan.release.push(Claim::of(&cr.metadata));
                    continue;
                }
            }
            Some(_) => continue,
            None => {
                if !labels_match || cr.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                plan.adopt.push(Claim::of(&cr.metadata));
            }
        }
        let hash = match hash_label(&cr.metadata) {
            Some(h) => h.to_string(),
            None => {
                // Legacy CR: the name stands in for the hash, avoiding hash collisions (H4).
                plan.label_fixups.push(name.clone());
                name.clone()
            }
        };
        if cr.data.as_ref().map(|d| &d.0) == Some(&data) {
            current.push((cr, hash));
        } else {
            plan.old.push(OldRevision {
                name,
                revision: cr.revision,
                hash,
            });
        }
    }
    let next = plan.old.iter().map(|o| o.revision).max().unwrap_or(0) + 1;
    plan.current_revision = next;
    // Highest revision wins; ties go to the later CR in list order (H4).
    let kept =
        current.iter().fold(
            None,
            |best: Option<&(&ControllerRevision, String)>, c| match best {
                Some(b) if b.0.revision > c.0.revision => Some(b),
                _ => Some(c),
            },
        );
    match kept {
        None => {
            let collision = ds.status.as_ref().and_then(|s| s.collision_count);
            let hash = compute_hash(template, collision).map_err(HistoryError::Encode)?;
            let cr = new_revision(ds, &hash, data, next);
            plan.current_name = cr.metadata.name.clone().unwrap_or_default();
            plan.hash = hash;
            plan.create = Some(cr);
        }
        Some((cr, hash)) => {
            plan.hash = hash.clone();
            plan.current_name = cr.metadata.name.clone().unwrap_or_default();
            if current.len() > 1 {
                // Relabel pods before deleting the duplicates they may point at.
                plan.relabel_pods = pod_hashes
                    .into_iter()
                    .filter(|(_, h)| *h != Some(hash.as_str()))
                    .map(|(name, _)| name.to_string())
                    .collect();
                plan.delete_duplicates = current
                    .iter()
                    .filter(|(c, _)| c.metadata.name != cr.metadata.name)
                    .map(|(c, _)| c.metadata.name.clone().unwrap_or_default())
                    .collect();
            }
            if cr.revision < next {
                // Rollback to an older template renumbers its CR (spec §2.8 B2).
                plan.renumber = Some(plan.current_name.clone());
            } else {
                plan.current_revision = cr.revision;
            }
        }
    }
    Ok(plan)
}

/// The new CR of spec §2.6 H3.
fn new_revision(ds: &DaemonSet, hash: &str, data: Value, revision: i64) -> ControllerRevision {
    let ds_name = ds.metadata.name.as_deref().unwrap_or("");
    let mut labels: BTreeMap<String, String> = ds
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert(CONTROLLER_REVISION_HASH_LABEL.to_string(), hash.to_string());
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(format!("{ds_name}-{hash}")),
            namespace: ds.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: ds.metadata.annotations.clone(),
            owner_references: Some(vec![controller_owner_ref(ds)]),
            ..ObjectMeta::default()
        },
        data: Some(RawExtension(data)),
        revision,
    }
}

/// Upstream `cleanupHistory` (spec §2.7 T1–T3): old CRs to delete, oldest revision first,
/// sparing any whose hash a pod still carries (`live_hashes`, terminal pods included).
pub fn revisions_to_clean_up<'h>(
    ds: &DaemonSet,
    old: &[OldRevision],
    live_hashes: impl IntoIterator<Item = &'h str>,
) -> Vec<String> {
    let limit = ds
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(DEFAULT_REVISION_HISTORY_LIMIT);
    let mut to_kill = old.len() as i64 - i64::from(limit);
    if to_kill <= 0 {
        return Vec::new();
    }
    let live: HashSet<&str> = live_hashes.into_iter().filter(|h| !h.is_empty()).collect();
    let mut sorted: Vec<&OldRevision> = old.iter().collect();
    sorted.sort_by_key(|o| o.revision);
    let mut out = Vec::new();
    for rev in sorted {
        if to_kill <= 0 {
            break;
        }
        if live.contains(rev.hash.as_str()) {
            continue;
        }
        out.push(rev.name.clone());
        to_kill -= 1;
    }
    out
}

/// What to do when creating the current CR met AlreadyExists (spec §2.6 H5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollisionDecision {
    /// The existing CR holds this template: use it.
    UseExisting,
    /// The live DaemonSet's collisionCount differs from the cached one: retry later.
    StaleCollisionCount,
    /// Write this collisionCount through the status subresource and fail the sync; the next
    /// sync hashes with it and gets a new name.
    BumpCollisionCount(i32),
}

/// Decides a CR name collision from the existing CR and the DaemonSet as read from the API.
pub fn on_revision_collision(
    cached: &DaemonSet,
    existing: &ControllerRevision,
    live_collision_count: Option<i32>,
) -> Result<CollisionDecision, HistoryError> {
    let empty = Default::default();
    let template = cached.spec.as_ref().map(|s| &s.template).unwrap_or(&empty);
    let data = revision_data(template).map_err(HistoryError::Encode)?;
    if existing.data.as_ref().map(|d| &d.0) == Some(&data) {
        return Ok(CollisionDecision::UseExisting);
    }
    let cached_count = cached.status.as_ref().and_then(|s| s.collision_count);
    if live_collision_count != cached_count {
        return Ok(CollisionDecision::StaleCollisionCount);
    }
    Ok(CollisionDecision::BumpCollisionCount(
        cached_count.unwrap_or(0).saturating_add(1),
    ))
}

//! History decisions (spec §2.6–§2.8): hashing, revision numbering, dedup, cleanup, rollback and collisions.

use everynode_core::keys::{CHANGE_CAUSE_ANNOTATION, CONTROLLER_REVISION_HASH_LABEL};
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::fixtures::*;
use crate::plan::hash::{canonical_json, compute_hash, revision_data};
use crate::plan::history::{
    CollisionDecision, OldRevision, on_revision_collision, plan_history, revisions_to_clean_up,
};
use crate::testing::Sim;

fn set_image(ds: &mut DaemonSet, image: &str) {
    template_spec(ds).containers[0].image = Some(image.to_string());
}

fn template(ds: &DaemonSet) -> &k8s_openapi::api::core::v1::PodTemplateSpec {
    &ds.spec.as_ref().expect("spec").template
}

fn cr_revisions(sim: &Sim) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = sim
        .revisions
        .iter()
        .map(|r| (r.metadata.name.clone().unwrap_or_default(), r.revision))
        .collect();
    v.sort_by_key(|(_, r)| *r);
    v
}

#[test]
fn hash_is_stable_and_sensitive() {
    let a = new_daemon_set("a");
    let mut b = new_daemon_set("b");
    assert_eq!(
        compute_hash(template(&a), None).ok(),
        compute_hash(template(&b), None).ok()
    );
    set_image(&mut b, "other");
    assert_ne!(
        compute_hash(template(&a), None).ok(),
        compute_hash(template(&b), None).ok()
    );
    assert_ne!(
        compute_hash(template(&a), None).ok(),
        compute_hash(template(&a), Some(1)).ok()
    );
    let hash = compute_hash(template(&a), None).expect("hash");
    assert!(
        hash.bytes()
            .all(|c| b"bcdfghjklmnpqrstvwxz2456789".contains(&c)),
        "{hash}"
    );
}

#[test]
fn revision_data_replaces_the_whole_template() {
    let ds = new_daemon_set("a");
    let data = revision_data(template(&ds)).expect("data");
    let text = canonical_json(&data);
    assert!(
        text.starts_with(r#"{"spec":{"template":{"$patch":"replace","metadata":"#),
        "{text}"
    );
}

#[test]
fn first_revision_is_created_with_owner_labels_and_annotations() {
    let mut ds = new_daemon_set("foo");
    ds.metadata.annotations = Some(labels(&[(CHANGE_CAUSE_ANNOTATION, "kubectl apply")]));
    let selector = everynode_core::labels::Selector::from_label_selector(
        ds.spec.as_ref().map(|s| &s.selector),
    )
    .expect("selector");
    let plan = plan_history(&ds, &selector, &[], []).expect("history");
    let cr = plan.create.expect("create");
    let hash = compute_hash(template(&ds), None).expect("hash");
    assert_eq!(
        cr.metadata.name.as_deref(),
        Some(format!("foo-{hash}").as_str())
    );
    assert_eq!(cr.revision, 1);
    let labels_of = cr.metadata.labels.as_ref().expect("labels");
    assert_eq!(labels_of.get(CONTROLLER_REVISION_HASH_LABEL), Some(&hash));
    assert_eq!(
        labels_of.get("name").map(String::as_str),
        Some("simple-daemon")
    );
    assert_eq!(cr.metadata.annotations, ds.metadata.annotations);
    let owner = everynode_core::pod::controller_ref(&cr.metadata).expect("owner");
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("DaemonSet", "uid-foo")
    );
    assert_eq!(plan.hash, hash);
}

#[test]
fn template_change_adds_revision_and_rollback_renumbers() {
    let mut sim = Sim::new(new_daemon_set("foo"), new_nodes(0, 2, &[]), vec![]);
    set_rolling_update(&mut sim.ds, IntOrString::Int(1), None);
    sim.sync();
    let first = cr_revisions(&sim);
    assert_eq!(first.len(), 1);
    set_image(&mut sim.ds, "foo/v2");
    sim.sync();
    let second = cr_revisions(&sim);
    assert_eq!(
        second.iter().map(|(_, r)| *r).collect::<Vec<_>>(),
        vec![1, 2]
    );
    // Undo to the first template: its CR becomes revision 3, no new CR (spec §2.8 B2).
    set_image(&mut sim.ds, "foo/bar");
    sim.sync();
    let third = cr_revisions(&sim);
    assert_eq!(third.len(), 2);
    assert_eq!(third[1], (first[0].0.clone(), 3));
}

#[test]
fn rollback_keeps_pods_of_the_restored_revision() {
    // spec §2.8 B3: pods still on the restored hash are "updated" and not restarted.
    let mut sim = Sim::new(new_daemon_set("foo"), new_nodes(0, 3, &[]), vec![]);
    set_rolling_update(&mut sim.ds, IntOrString::Int(1), None);
    sim.sync();
    sim.mark_all_ready();
    let originals: Vec<String> = sim
        .pods
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    set_image(&mut sim.ds, "foo:non-existent");
    let got = sim.sync();
    assert_eq!(got.deletes.len(), 1);
    let replaced = got.deletes[0].name.clone();
    sim.sync(); // creates the new-image pod, never Ready
    set_image(&mut sim.ds, "foo/bar");
    for _ in 0..3 {
        sim.sync();
        sim.mark_all_ready();
    }
    for name in originals.iter().filter(|n| **n != replaced) {
        assert!(
            sim.pods
                .iter()
                .any(|p| p.metadata.name.as_ref() == Some(name)),
            "{name} not restarted"
        );
    }
    assert_eq!(sim.pods.len(), 3);
}

#[test]
fn duplicate_current_revisions_are_deduplicated() {
    let ds = new_daemon_set("foo");
    let selector = everynode_core::labels::Selector::from_label_selector(
        ds.spec.as_ref().map(|s| &s.selector),
    )
    .expect("selector");
    let base = plan_history(&ds, &selector, &[], [])
        .expect("history")
        .create
        .expect("cr");
    let mut dup_low = base.clone();
    dup_low.metadata.name = Some("foo-low".to_string());
    dup_low.revision = 2;
    if let Some(l) = dup_low.metadata.labels.as_mut() {
        l.insert(
            CONTROLLER_REVISION_HASH_LABEL.to_string(),
            "low".to_string(),
        );
    }
    let mut dup_high = base.clone();
    dup_high.metadata.name = Some("foo-high".to_string());
    dup_high.revision = 5;
    if let Some(l) = dup_high.metadata.labels.as_mut() {
        l.insert(
            CONTROLLER_REVISION_HASH_LABEL.to_string(),
            "high".to_string(),
        );
    }
    let plan = plan_history(
        &ds,
        &selector,
        &[dup_low, dup_high],
        [("p1", Some("low")), ("p2", Some("high"))],
    )
    .expect("history");
    assert_eq!(plan.current_name, "foo-high");
    assert_eq!(plan.hash, "high");
    assert_eq!(plan.delete_duplicates, vec!["foo-low".to_string()]);
    assert_eq!(plan.relabel_pods, vec!["p1".to_string()]);
    assert_eq!(plan.renumber, None);
    assert_eq!(plan.current_revision, 5);
}

#[test]
fn legacy_revision_without_hash_label_uses_its_name() {
    let ds = new_daemon_set("foo");
    let selector = everynode_core::labels::Selector::from_label_selector(
        ds.spec.as_ref().map(|s| &s.selector),
    )
    .expect("selector");
    let mut legacy = plan_history(&ds, &selector, &[], [])
        .expect("history")
        .create
        .expect("cr");
    legacy.metadata.name = Some("foo-legacy".to_string());
    if let Some(l) = legacy.metadata.labels.as_mut() {
        l.remove(CONTROLLER_REVISION_HASH_LABEL);
    }
    let plan = plan_history(&ds, &selector, &[legacy], []).expect("history");
    assert_eq!(plan.label_fixups, vec!["foo-legacy".to_string()]);
    assert_eq!(plan.hash, "foo-legacy");
    assert!(plan.create.is_none());
}

fn old(name: &str, revision: i64) -> OldRevision {
    OldRevision {
        name: name.to_string(),
        revision,
        hash: name.to_string(),
    }
}

#[test]
fn cleanup_honours_limit_and_live_pods() {
    let ds = new_daemon_set("foo"); // revisionHistoryLimit 2
    let olds = vec![
        old("r3", 3),
        old("r1", 1),
        old("r2", 2),
        old("r4", 4),
        old("r5", 5),
    ];
    // 5 old, limit 2 → kill 3, oldest first, sparing r2 which a pod still runs.
    let killed = revisions_to_clean_up(&ds, &olds, ["r2"]);
    assert_eq!(
        killed,
        vec!["r1".to_string(), "r3".to_string(), "r4".to_string()]
    );
    assert!(revisions_to_clean_up(&ds, &olds[..2], []).is_empty());
    // Every old revision live: nothing goes, even beyond the limit (spec §2.7 T3).
    assert!(revisions_to_clean_up(&ds, &olds, ["r1", "r2", "r3", "r4", "r5"]).is_empty());
}

#[test]
fn cleanup_runs_in_the_sync() {
    let mut sim = Sim::new(new_daemon_set("foo"), new_nodes(0, 1, &[]), vec![]);
    set_rolling_update(&mut sim.ds, IntOrString::Int(1), None);
    for i in 0..6 {
        set_image(&mut sim.ds, &format!("img-{i}"));
        for _ in 0..3 {
            sim.sync();
            sim.mark_all_ready();
        }
    }
    // Current + at most revisionHistoryLimit (2) old ones.
    assert_eq!(sim.revisions.len(), 3);
}

#[test]
fn name_collision_decisions() {
    let mut ds = new_daemon_set("foo");
    let data = revision_data(template(&ds)).expect("data");
    let same = ControllerRevision {
        data: Some(k8s_openapi::apimachinery::pkg::runtime::RawExtension(data)),
        ..Default::default()
    };
    assert_eq!(
        on_revision_collision(&ds, &same, None).ok(),
        Some(CollisionDecision::UseExisting)
    );
    let other = ControllerRevision::default();
    assert_eq!(
        on_revision_collision(&ds, &other, None).ok(),
        Some(CollisionDecision::BumpCollisionCount(1))
    );
    assert_eq!(
        on_revision_collision(&ds, &other, Some(1)).ok(),
        Some(CollisionDecision::StaleCollisionCount)
    );
    ds.status = Some(k8s_openapi::api::apps::v1::DaemonSetStatus {
        collision_count: Some(1),
        ..Default::default()
    });
    assert_eq!(
        on_revision_collision(&ds, &other, Some(1)).ok(),
        Some(CollisionDecision::BumpCollisionCount(2))
    );
}

//! A ControllerRevision name collision against `everynode up` (spec daemonset.md §2.6 H5): a
//! foreign revision already holds `<ds>-<hash>`, so the controller bumps collisionCount and
//! names the revision with the new hash; the rollout still completes.

use everynode_controller::plan::hash::compute_hash;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

use super::{
    DEADLINE, DS, NEW_IMAGE, OLD_IMAGE, ROLLING, SELECTOR, cluster, manifest, pods, revisions,
    rollout_done,
};
use crate::support::wait_for;

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn controller_revision_name_collision_bumps_collision_count() {
    let (server, k) = cluster("2");
    k.apply(&manifest(OLD_IMAGE, ROLLING, "")).ok();
    rollout_done(&k);
    let client = server.client().await;
    let daemon_sets: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    let crs: Api<ControllerRevision> = Api::namespaced(client, "default");
    let stored = daemon_sets.get("daemon-set").await.expect("get ds");
    let template = stored.spec.as_ref().expect("spec").template.clone();
    // The test computes names the way the controller does: check that on revision 1 first.
    let first = compute_hash(&template, None).expect("hash");
    let first_revisions = revisions(&k);
    assert_eq!(first_revisions, vec![(1, first.clone())]);

    // The next template differs only in the image, so its defaulted form is known here.
    let mut next = template.clone();
    next.spec.as_mut().expect("pod spec").containers[0].image = Some(NEW_IMAGE.to_string());
    let taken = format!("daemon-set-{}", compute_hash(&next, None).expect("hash"));
    // Labels outside the DaemonSet's selector: never adopted, only in the way.
    let squatter = ControllerRevision {
        metadata: ObjectMeta {
            name: Some(taken.clone()),
            labels: Some([("squatter".to_string(), "yes".to_string())].into()),
            ..ObjectMeta::default()
        },
        data: Some(RawExtension(
            json!({"spec": {"template": {"something": "else"}}}),
        )),
        revision: 7,
    };
    crs.create(&PostParams::default(), &squatter)
        .await
        .expect("pre-create the colliding revision");

    k.run(&["set", "image", DS, &format!("app={NEW_IMAGE}")])
        .ok();
    wait_for("collisionCount 1", DEADLINE, || {
        (k.jsonpath(&["get", DS], "{.status.collisionCount}") == "1").then_some(())
    });
    rollout_done(&k);

    let revs = revisions(&k);
    assert_eq!(revs.len(), 2, "{revs:?}");
    assert_eq!(revs[1].0, 2, "{revs:?}");
    let with_count = compute_hash(&next, Some(1)).expect("hash");
    assert_eq!(revs[1].1, with_count, "the hash includes collisionCount 1");
    let current = crs
        .get(&format!("daemon-set-{with_count}"))
        .await
        .expect("the revision under its new name");
    assert_eq!(current.revision, 2);
    // The squatter is untouched.
    let kept = crs.get(&taken).await.expect("squatter kept");
    assert_eq!(kept.revision, 7);
    assert_eq!(kept.data, squatter.data);
    assert!(kept.metadata.owner_references.is_none());
    let now = pods(&k);
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(
        now.iter()
            .all(|p| p.image == NEW_IMAGE && p.hash == with_count && !p.terminating),
        "{now:?}"
    );
    assert_eq!(
        k.jsonpath(
            &["get", "controllerrevisions", "-l", SELECTOR],
            "{.items[*].revision}"
        )
        .split_whitespace()
        .count(),
        2
    );
}

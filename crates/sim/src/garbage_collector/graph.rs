//! The ownership graph and the garbage collector's decisions over it, without any I/O.
//!
//! Upstream's garbage collector (`pkg/controller/garbagecollector`) keeps a graph of every object
//! and its ownerReferences and acts on three situations, which [`Graph::decide`] reproduces:
//! a dependent whose owners are all gone is deleted; an owner deleted with `orphan` first has its
//! reference removed from every dependent; an owner deleted with `foregroundDeletion` first has
//! its dependents deleted and waits for the blocking ones to be gone.

use std::collections::{BTreeSet, HashMap};

/// The finalizer of an owner whose dependents are to be orphaned.
pub const ORPHAN_FINALIZER: &str = "orphan";
/// The finalizer of an owner whose dependents are deleted first.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// Where an object lives: its kind (an index into the collector's watched kinds), namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub kind: usize,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
}

/// One ownerReference of a dependent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub uid: String,
    /// The owner's kind among the watched ones; `None` for kinds the collector does not watch,
    /// which are never taken for absent.
    pub kind: Option<usize>,
    pub name: String,
    pub block_owner_deletion: bool,
}

/// What the collector knows of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub object: ObjectRef,
    pub owners: Vec<Owner>,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    pub finalizers: Vec<String>,
}

/// A change the collector makes through the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Delete the dependent (its owners are gone, or its owner is deleted in the foreground).
    Delete { object: ObjectRef, foreground: bool },
    /// Remove these ownerReferences (by owner uid) from the dependent.
    RemoveOwners {
        object: ObjectRef,
        owners: Vec<String>,
    },
    /// Remove a finalizer from an owner whose dependents are taken care of.
    RemoveFinalizer {
        object: ObjectRef,
        finalizer: &'static str,
    },
    /// These owners look absent; confirm each with a live read before acting on `then`.
    ConfirmAbsent {
        dependent: ObjectRef,
        owners: Vec<Owner>,
        all_absent: bool,
    },
}

/// The ownership graph: every watched object by uid and, for each owner uid, its dependents.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    dependents: HashMap<String, BTreeSet<String>>,
}

impl Graph {
    /// Records the current state of an object; returns the uids whose decisions may have changed.
    pub fn upsert(&mut self, node: Node) -> Vec<String> {
        let uid = node.object.uid.clone();
        let mut touched = vec![uid.clone()];
        if let Some(old) = self.nodes.remove(&uid) {
            for owner in &old.owners {
                self.unlink(&owner.uid, &uid);
                touched.push(owner.uid.clone());
            }
        }
        for owner in &node.owners {
            self.dependents
                .entry(owner.uid.clone())
                .or_default()
                .insert(uid.clone());
            touched.push(owner.uid.clone());
        }
        if node.deleting {
            touched.extend(self.dependents_of(&uid));
        }
        self.nodes.insert(uid, node);
        touched
    }

    /// Forgets a deleted object; returns the uids whose decisions may have changed (its owners,
    /// which may be waiting for it, and its dependents, which may now be orphans).
    pub fn remove(&mut self, uid: &str) -> Vec<String> {
        let mut touched = self.dependents_of(uid);
        if let Some(old) = self.nodes.remove(uid) {
            for owner in &old.owners {
                self.unlink(&owner.uid, uid);
                touched.push(owner.uid.clone());
            }
        }
        touched
    }

    /// Forgets every object of one kind (its watch restarted and will list them again).
    pub fn clear_kind(&mut self, kind: usize) {
        let uids: Vec<String> = self
            .nodes
            .values()
            .filter(|n| n.object.kind == kind)
            .map(|n| n.object.uid.clone())
            .collect();
        for uid in uids {
            self.remove(&uid);
        }
    }

    pub fn get(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    fn unlink(&mut self, owner: &str, dependent: &str) {
        if let Some(set) = self.dependents.get_mut(owner) {
            set.remove(dependent);
            if set.is_empty() {
                self.dependents.remove(owner);
            }
        }
    }

    fn dependents_of(&self, uid: &str) -> Vec<String> {
        self.dependents
            .get(uid)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// What to do about the object `uid`, given every watched kind has been listed.
    pub fn decide(&self, uid: &str) -> Vec<Action> {
        let Some(node) = self.nodes.get(uid) else {
            return Vec::new();
        };
        let mut actions = Vec::new();
        if node.deleting {
            self.decide_as_deleting_owner(node, &mut actions);
        } else {
            self.decide_as_dependent(node, &mut actions);
        }
        actions
    }

    /// An owner being deleted with `orphan` or `foregroundDeletion` (upstream
    /// `orphanDependents` and `processDeletingDependentsItem`).
    fn decide_as_deleting_owner(&self, owner: &Node, actions: &mut Vec<Action>) {
        let dependents: Vec<&Node> = self
            .dependents_of(&owner.object.uid)
            .iter()
            .filter_map(|uid| self.nodes.get(uid))
            .collect();
        if owner.finalizers.iter().any(|f| f == ORPHAN_FINALIZER) {
            for dependent in &dependents {
                actions.push(Action::RemoveOwners {
                    object: dependent.object.clone(),
                    owners: vec![owner.object.uid.clone()],
                });
            }
            if dependents.is_empty() {
                actions.push(Action::RemoveFinalizer {
                    object: owner.object.clone(),
                    finalizer: ORPHAN_FINALIZER,
                });
            }
        } else if owner.finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) {
            for dependent in dependents.iter().filter(|d| !d.deleting) {
                actions.push(Action::Delete {
                    object: dependent.object.clone(),
                    foreground: true,
                });
            }
            // Only dependents that block their owner's deletion are waited for.
            let blocked = dependents.iter().any(|d| {
                d.owners
                    .iter()
                    .any(|o| o.uid == owner.object.uid && o.block_owner_deletion)
            });
            if !blocked {
                actions.push(Action::RemoveFinalizer {
                    object: owner.object.clone(),
                    finalizer: FOREGROUND_FINALIZER,
                });
            }
        }
    }

    /// A dependent whose owners may be gone (upstream `attemptToDeleteItem`).
    fn decide_as_dependent(&self, node: &Node, actions: &mut Vec<Action>) {
        if node.owners.is_empty() {
            return;
        }
        let absent: Vec<Owner> = node
            .owners
            .iter()
            .filter(|owner| owner.kind.is_some() && !self.nodes.contains_key(&owner.uid))
            .cloned()
            .collect();
        if absent.is_empty() {
            return;
        }
        let all_absent = absent.len() == node.owners.len();
        actions.push(Action::ConfirmAbsent {
            dependent: node.object.clone(),
            owners: absent,
            all_absent,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: usize, name: &str, uid: &str) -> ObjectRef {
        ObjectRef {
            kind,
            namespace: Some("default".into()),
            name: name.into(),
            uid: uid.into(),
        }
    }

    fn owner(uid: &str, block: bool) -> Owner {
        Owner {
            uid: uid.into(),
            kind: Some(0),
            name: "ds".into(),
            block_owner_deletion: block,
        }
    }

    fn node(object: ObjectRef, owners: Vec<Owner>) -> Node {
        Node {
            object,
            owners,
            deleting: false,
            finalizers: Vec::new(),
        }
    }

    fn deleting(mut node: Node, finalizer: &str) -> Node {
        node.deleting = true;
        node.finalizers = vec![finalizer.into()];
        node
    }

    #[test]
    fn dependent_of_a_present_owner_is_left_alone() {
        let mut graph = Graph::default();
        graph.upsert(node(object(0, "ds", "o"), vec![]));
        graph.upsert(node(object(1, "pod", "p"), vec![owner("o", true)]));
        assert!(graph.decide("p").is_empty());
    }

    #[test]
    fn dependent_whose_only_owner_is_gone_is_confirmed_then_deleted() {
        let mut graph = Graph::default();
        graph.upsert(node(object(0, "ds", "o"), vec![]));
        graph.upsert(node(object(1, "pod", "p"), vec![owner("o", true)]));
        let touched = graph.remove("o");
        assert!(touched.contains(&"p".to_owned()));
        assert_eq!(
            graph.decide("p"),
            vec![Action::ConfirmAbsent {
                dependent: object(1, "pod", "p"),
                owners: vec![owner("o", true)],
                all_absent: true,
            }]
        );
    }

    #[test]
    fn dangling_reference_beside_a_live_owner_is_only_removed() {
        let mut graph = Graph::default();
        graph.upsert(node(object(0, "ds", "live"), vec![]));
        graph.upsert(node(
            object(1, "pod", "p"),
            vec![owner("live", false), owner("gone", false)],
        ));
        let actions = graph.decide("p");
        assert!(
            matches!(&actions[..], [Action::ConfirmAbsent { all_absent: false, owners, .. }] if owners.len() == 1 && owners[0].uid == "gone")
        );
    }

    #[test]
    fn owners_of_unwatched_kinds_are_never_taken_for_absent() {
        let mut graph = Graph::default();
        let mut foreign = owner("x", false);
        foreign.kind = None;
        graph.upsert(node(object(1, "pod", "p"), vec![foreign]));
        assert!(graph.decide("p").is_empty());
    }

    #[test]
    fn orphaning_owner_strips_references_then_drops_its_finalizer() {
        let mut graph = Graph::default();
        graph.upsert(deleting(
            node(object(0, "ds", "o"), vec![]),
            ORPHAN_FINALIZER,
        ));
        graph.upsert(node(object(1, "pod", "p"), vec![owner("o", true)]));
        assert_eq!(
            graph.decide("o"),
            vec![Action::RemoveOwners {
                object: object(1, "pod", "p"),
                owners: vec!["o".into()],
            }]
        );
        // The dependent no longer references the owner.
        let touched = graph.upsert(node(object(1, "pod", "p"), vec![]));
        assert!(touched.contains(&"o".to_owned()));
        assert_eq!(
            graph.decide("o"),
            vec![Action::RemoveFinalizer {
                object: object(0, "ds", "o"),
                finalizer: ORPHAN_FINALIZER,
            }]
        );
    }

    #[test]
    fn foreground_owner_deletes_dependents_and_waits_for_blocking_ones() {
        let mut graph = Graph::default();
        graph.upsert(deleting(
            node(object(0, "ds", "o"), vec![]),
            FOREGROUND_FINALIZER,
        ));
        graph.upsert(node(object(1, "pod", "p"), vec![owner("o", true)]));
        assert_eq!(
            graph.decide("o"),
            vec![Action::Delete {
                object: object(1, "pod", "p"),
                foreground: true,
            }]
        );
        // While the blocking dependent terminates, the owner keeps waiting.
        let mut terminating = node(object(1, "pod", "p"), vec![owner("o", true)]);
        terminating.deleting = true;
        graph.upsert(terminating);
        assert!(graph.decide("o").is_empty());
        graph.remove("p");
        assert_eq!(
            graph.decide("o"),
            vec![Action::RemoveFinalizer {
                object: object(0, "ds", "o"),
                finalizer: FOREGROUND_FINALIZER,
            }]
        );
    }

    #[test]
    fn foreground_owner_does_not_wait_for_non_blocking_dependents() {
        let mut graph = Graph::default();
        graph.upsert(deleting(
            node(object(0, "ds", "o"), vec![]),
            FOREGROUND_FINALIZER,
        ));
        graph.upsert(node(object(1, "pod", "p"), vec![owner("o", false)]));
        let actions = graph.decide("o");
        assert!(actions.contains(&Action::RemoveFinalizer {
            object: object(0, "ds", "o"),
            finalizer: FOREGROUND_FINALIZER,
        }));
    }
}

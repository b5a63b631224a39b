//! Lifecycle scenarios, in process.

use iac_core::ops::RunOptions;
use iac_core::testing::{Bucket, Fault, Network, Server};
use iac_core::{Error, Op, ResourceOptions, Stack, Urn};

use crate::support::*;

/// ```text
/// net ◄── server-0
///     ◄── server-1
/// ```
fn web(s: &Stack, size: i64, zone: &str, cidr: &str) -> Result<(), Error> {
    let net = s.add("net", Network::builder().cidr(cidr).build());
    for i in 0..2 {
        s.add(&format!("server-{i}"), Server::builder().size(size).zone(zone).network_id(net.id.clone()).build());
    }
    s.export("net_id", net.id.clone());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn first_up_creates_everything_and_records_it() {
    let h = H::new();
    let s = h.session(|s| web(s, 1, "a", "10.0.0.0/16"));
    let a = up(&s).await;
    assert_eq!(a.plan.counts().get(&Op::Create), Some(&3));
    let state = s.load_state().await.unwrap();
    assert_eq!(state.resources.len(), 3);
    h.assert_cloud_matches(&state);
    let net_id = state.resources[&Urn::new("net")].id.clone().unwrap();
    assert_eq!(state.outputs["net_id"], iac_core::Value::from(net_id.as_str()));
    // Servers got the network's real id at apply time.
    for (_, r) in h.cloud.inventory().iter().filter(|(_, r)| r.urn.starts_with("server")) {
        assert_eq!(r.inputs["networkId"], net_id.as_str());
    }
    assert!(!h.journal_path().exists(), "the journal is compacted into the snapshot");
}

#[tokio::test(flavor = "multi_thread")]
async fn second_up_is_a_noop() {
    let h = H::new();
    let s = h.session(|s| web(s, 1, "a", "10.0.0.0/16"));
    up(&s).await;
    let before = std::fs::read(h.snapshot_path()).unwrap();
    let calls = h.cloud.calls();
    let a = up(&s).await;
    assert!(a.plan.changes().next().is_none());
    assert_eq!(h.cloud.calls(), calls, "no provider call");
    assert_eq!(std::fs::read(h.snapshot_path()).unwrap(), before, "state untouched");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_property_updates_in_place() {
    let h = H::new();
    up(&h.session(|s| web(s, 1, "a", "10.0.0.0/16"))).await;
    let ids = h.cloud_by_urn();
    let s = h.session(|s| web(s, 4, "a", "10.0.0.0/16"));
    let p = s.preview(&opts()).await.unwrap();
    let updates: Vec<_> = p.plan.changes().collect();
    assert_eq!(updates.len(), 2);
    assert!(updates.iter().all(|st| st.op == Op::Update && st.diffs.len() == 1 && st.diffs[0].path == "size"));
    up(&s).await;
    assert_eq!(h.cloud_by_urn(), ids, "same ids: updated, not replaced");
    assert!(h.cloud.inventory().values().filter(|r| r.urn.starts_with("server")).all(|r| r.inputs["size"] == 4));
    assert_eq!(h.cloud.call_log().iter().filter(|l| l.starts_with("update")).count(), 2);
}

/// A new zone forces a replacement: the new server is created before the old
/// one is deleted.
#[tokio::test(flavor = "multi_thread")]
async fn replace_creates_before_deleting_by_default() {
    let h = H::new();
    up(&h.session(|s| web(s, 1, "a", "10.0.0.0/16"))).await;
    let old = h.cloud_by_urn()["server-0"].clone();
    let s = h.session(|s| web(s, 1, "b", "10.0.0.0/16"));
    let p = s.preview(&opts()).await.unwrap();
    let st = p.plan.steps.iter().find(|st| st.urn.as_str() == "server-0").unwrap();
    assert_eq!((st.op, st.replace_keys.clone()), (Op::Replace, vec!["zone".to_string()]));
    up(&s).await;
    let log = h.cloud.call_log();
    let first_create = log.iter().rposition(|l| l == "create server-0").unwrap();
    let delete = pos(&log, "delete server-0");
    assert!(first_create < delete, "create before delete: {log:?}");
    let new = h.cloud_by_urn()["server-0"].clone();
    assert_ne!(new, old);
    h.assert_cloud_matches(&s.load_state().await.unwrap());
}

/// Replacing the network changes its id; the servers that read it are updated
/// to the new id before the old network is deleted.
#[tokio::test(flavor = "multi_thread")]
async fn dependents_move_to_a_replacement_before_the_old_copy_goes() {
    let h = H::new();
    up(&h.session(|s| web(s, 1, "a", "10.0.0.0/16"))).await;
    let s = h.session(|s| web(s, 1, "a", "10.9.0.0/16"));
    up(&s).await;
    let log = h.cloud.call_log();
    let del = pos(&log, "delete net");
    assert!(pos(&log, "update server-0") < del && pos(&log, "update server-1") < del, "{log:?}");
    let net = h.cloud_by_urn()["net"].clone();
    assert!(h
        .cloud
        .inventory()
        .values()
        .filter(|r| r.urn.starts_with("server"))
        .all(|r| r.inputs["networkId"] == net.as_str()));
    h.assert_cloud_matches(&s.load_state().await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_before_replace_when_the_type_says_so() {
    let h = H::new();
    up(&h.session(|s| {
        s.add("b", Bucket::builder().name("logs").build());
        Ok(())
    }))
    .await;
    let s = h.session(|s| {
        s.add("b", Bucket::builder().name("logs-2").build());
        Ok(())
    });
    up(&s).await;
    let log = h.cloud.call_log();
    assert!(pos(&log, "delete b") < log.iter().rposition(|l| l == "create b").unwrap(), "{log:?}");
    h.assert_cloud_matches(&s.load_state().await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn removed_resources_are_deleted_dependents_first() {
    let h = H::new();
    up(&h.session(|s| web(s, 1, "a", "10.0.0.0/16"))).await;
    let s = h.session(|_| Ok(()));
    let a = up(&s).await;
    assert_eq!(a.plan.counts().get(&Op::Delete), Some(&3));
    let log = h.cloud.call_log();
    assert!(
        pos(&log, "delete server-0") < pos(&log, "delete net")
            && pos(&log, "delete server-1") < pos(&log, "delete net")
    );
    assert!(h.cloud.inventory().is_empty());
    assert!(s.load_state().await.unwrap().resources.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn protected_resources_are_never_deleted_or_replaced() {
    let h = H::new();
    let protected = |cidr: &'static str| {
        move |s: &Stack| {
            s.add_with("net", Network::builder().cidr(cidr).build(), ResourceOptions::new().protect());
            Ok(())
        }
    };
    up(&h.session(protected("10.0.0.0/16"))).await;
    let before = std::fs::read(h.snapshot_path()).unwrap();
    let err = h.session(protected("10.1.0.0/16")).up(&opts(), None, &mut |_, _| Ok(true)).await.err().unwrap();
    assert!(matches!(err, Error::Protected(ref u, "replace") if u.as_str() == "net"), "{err}");
    let err = h.session(|_| Ok(())).up(&opts(), None, &mut |_, _| Ok(true)).await.err().unwrap();
    assert!(matches!(err, Error::Protected(_, "delete")), "{err}");
    let err = h.session(|_| Ok(())).destroy(&opts(), &mut |_, _| Ok(true)).await.err().unwrap();
    assert!(err.to_string().contains("protected"), "{err}");
    assert_eq!(h.cloud.inventory().len(), 1);
    assert_eq!(std::fs::read(h.snapshot_path()).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn ignored_changes_are_never_a_diff() {
    let h = H::new();
    let prog = |size: i64| {
        move |s: &Stack| {
            s.add_with("srv", Server::builder().size(size).build(), ResourceOptions::new().ignore_changes(["size"]));
            Ok(())
        }
    };
    up(&h.session(prog(1))).await;
    let s = h.session(prog(9));
    let a = up(&s).await;
    assert!(a.plan.changes().next().is_none());
    assert_eq!(h.cloud.inventory().values().next().unwrap().inputs["size"], 1);
}

/// ```text
/// net ◄── server-0, server-1     bucket (independent)
/// ```
/// The network's create fails: the servers are skipped, the bucket is
/// created and recorded, and the error names the network.
#[tokio::test(flavor = "multi_thread")]
async fn a_failure_skips_only_its_dependents() {
    let h = H::new();
    let prog = |s: &Stack| {
        web(s, 1, "a", "10.0.0.0/16")?;
        s.add("bucket", Bucket::builder().name("independent").build());
        Ok(())
    };
    h.cloud.fault_on_resource("net", "create", Fault::Fail);
    let s = h.session(prog);
    let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.unwrap();
    assert_eq!(a.report.failures.len(), 1);
    assert!(a.report.failures[0].contains("net") && a.report.failures[0].contains("injected failure"));
    assert_eq!(a.report.skipped, 2);
    let state = s.load_state().await.unwrap();
    assert_eq!(state.resources.keys().map(|u| u.as_str()).collect::<Vec<_>>(), ["bucket"]);
    h.assert_cloud_matches(&state);
    h.cloud.clear_faults();
    up(&s).await;
    let state = s.load_state().await.unwrap();
    assert_eq!(state.resources.len(), 4);
    h.assert_cloud_matches(&state);
}

#[tokio::test(flavor = "multi_thread")]
async fn cycles_and_duplicate_names_are_errors_naming_the_resources() {
    let h = H::new();
    let err = h
        .session(|s| {
            s.add_with(
                "a",
                Network::builder().cidr("10.0.0.0/16").build(),
                ResourceOptions::new().depends_on(Urn::new("b")),
            );
            s.add_with(
                "b",
                Network::builder().cidr("10.1.0.0/16").build(),
                ResourceOptions::new().depends_on(Urn::new("a")),
            );
            Ok(())
        })
        .preview(&opts())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, Error::Cycle(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains('a') && text.contains('b') && text.contains("->"), "{text}");
    let err = h
        .session(|s| {
            s.add("x", Network::builder().cidr("10.0.0.0/16").build());
            s.add("x", Network::builder().cidr("10.1.0.0/16").build());
            Ok(())
        })
        .preview(&opts())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, Error::DuplicateName(ref u) if u.as_str() == "x"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_invalid_input_is_reported_at_once() {
    let h = H::new();
    let err = h
        .session(|s| {
            s.add("bad-net", Network::builder().cidr("nonsense").build());
            s.add("bad-size", Server::builder().size(0).build());
            s.add("bad-both", Server::builder().size(99).zone("").build());
            Ok(())
        })
        .preview(&opts())
        .await
        .err()
        .unwrap();
    let Error::Invalid(d) = &err else { panic!("{err}") };
    assert_eq!(d.len(), 4, "{err}");
    let text = err.to_string();
    for (urn, field) in [("bad-net", "cidr"), ("bad-size", "size"), ("bad-both", "size"), ("bad-both", "zone")] {
        assert!(d.iter().any(|x| x.urn.as_str() == urn && x.field == field), "{urn}.{field} in {text}");
    }
    assert_eq!(h.cloud.calls(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_targeted_up_touches_only_the_target_and_what_it_needs() {
    let h = H::new();
    let prog = |s: &Stack| {
        web(s, 1, "a", "10.0.0.0/16")?;
        s.add("bucket", Bucket::builder().name("other").build());
        Ok(())
    };
    let s = h.session(prog);
    let t = RunOptions { targets: vec!["server-1".into()], ..opts() };
    let a = s.up(&t, None, &mut |_, _| Ok(true)).await.unwrap();
    let made: Vec<_> = a.report.state.resources.keys().map(|u| u.to_string()).collect();
    assert_eq!(made, ["net", "server-1"]);
    let t = RunOptions { targets: vec!["nope".into()], ..opts() };
    let err = s.up(&t, None, &mut |_, _| Ok(true)).await.err().unwrap();
    assert!(matches!(err, Error::UnknownTarget(ref n) if n == "nope"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_applied_exactly_or_refused_when_stale() {
    let h = H::new();
    let plan_file = h.dir.path().join("p.json");
    let s = h.session(|s| web(s, 1, "a", "10.0.0.0/16"));
    let p = s.preview(&opts()).await.unwrap();
    s.save_plan(&p.plan, &opts(), &plan_file).unwrap();
    let saved = iac_core::ops::SavedPlan::load(&plan_file).unwrap();
    let a = s.up(&opts(), Some((&plan_file, saved)), &mut |_, _| panic!("a saved plan does not ask")).await.unwrap();
    assert_eq!(a.plan.digest(), p.plan.digest());
    assert_eq!(a.report.state.resources.len(), 3);

    // Stale: the state moved on since the plan was saved.
    let s2 = h.session(|s| web(s, 2, "a", "10.0.0.0/16"));
    let p2 = s2.preview(&opts()).await.unwrap();
    s2.save_plan(&p2.plan, &opts(), &plan_file).unwrap();
    up(&h.session(|s| web(s, 3, "a", "10.0.0.0/16"))).await;
    let before = std::fs::read(h.snapshot_path()).unwrap();
    let saved = iac_core::ops::SavedPlan::load(&plan_file).unwrap();
    let err = s2.up(&opts(), Some((&plan_file, saved)), &mut |_, _| Ok(true)).await.err().unwrap();
    assert!(matches!(err, Error::StalePlan { .. }) && err.to_string().contains("state changed"), "{err}");
    assert_eq!(std::fs::read(h.snapshot_path()).unwrap(), before);

    // Stale: the program plans something else now.
    let p3 = s2.preview(&opts()).await.unwrap();
    s2.save_plan(&p3.plan, &opts(), &plan_file).unwrap();
    let saved = iac_core::ops::SavedPlan::load(&plan_file).unwrap();
    let s4 = h.session(|s| web(s, 5, "a", "10.0.0.0/16"));
    let err = s4.up(&opts(), Some((&plan_file, saved)), &mut |_, _| Ok(true)).await.err().unwrap();
    assert!(err.to_string().contains("different changes"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_is_refused_while_the_lock_is_held() {
    let h = H::new();
    let s = h.session(|s| web(s, 1, "a", "10.0.0.0/16"));
    s.backend.lock("dev", &iac_core::state::LockInfo::here("up")).await.unwrap();
    let err = s.up(&opts(), None, &mut |_, _| Ok(true)).await.err().unwrap();
    let text = err.to_string();
    assert!(matches!(err, Error::Locked { .. }), "{text}");
    assert!(text.contains(&format!("pid {}", std::process::id())) && text.contains("`up`"), "{text}");
    assert_eq!(h.cloud.calls(), 0);
    let holder = s.unlock().await.unwrap();
    assert!(holder.is_some());
    up(&s).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_errors_are_retried_and_recorded_once() {
    let h = H::new();
    h.cloud.fault_on_resource("server-0", "create", Fault::Retriable(2));
    let s = h.session(|s| web(s, 1, "a", "10.0.0.0/16"));
    up(&s).await;
    let retries = h.events.lock().unwrap().iter().filter(|e| matches!(e, iac_core::Event::Retrying { .. })).count();
    assert_eq!(retries, 2);
    h.assert_cloud_matches(&s.load_state().await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_whose_response_was_lost_is_found_not_made_twice() {
    let h = H::new();
    // The cloud makes the server each time, but the answer never arrives.
    h.cloud.fault_on_resource("server-0", "create", Fault::LostResponse(2));
    let s = h.session(|s| web(s, 1, "a", "10.0.0.0/16"));
    up(&s).await;
    let made = h.cloud.inventory().values().filter(|r| r.urn == "server-0").count();
    assert_eq!(made, 1, "a retried create made a twin: {:?}", h.cloud.inventory());
    let log = h.cloud.call_log();
    assert_eq!(log.iter().filter(|l| *l == "create server-0").count(), 1, "{log:?}");
    h.assert_cloud_matches(&s.load_state().await.unwrap());
    // The adopted server is recorded as desired: nothing left to do.
    let p = s.preview(&opts()).await.unwrap();
    assert_eq!(p.plan.changes().count(), 0, "{:?}", p.plan.steps);
}

/// A retried create in a replace must not take the old copy, which carries
/// the same identity, for what the failed attempt made.
#[tokio::test(flavor = "multi_thread")]
async fn a_retried_create_in_a_replace_never_adopts_the_old_copy() {
    let h = H::new();
    up(&h.session(|s| web(s, 1, "a", "10.0.0.0/16"))).await;
    let old = h.cloud_by_urn()["server-0"].clone();
    h.cloud.fault_on_resource("server-0", "create", Fault::Retriable(1));
    let s = h.session(|s| web(s, 1, "b", "10.0.0.0/16"));
    up(&s).await;
    let new = h.cloud_by_urn()["server-0"].clone();
    assert_ne!(new, old, "replaced");
    assert_eq!(h.cloud.inventory()[&new].inputs["zone"], "b");
    h.assert_cloud_matches(&s.load_state().await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_provider_fails_only_that_step() {
    let h = H::new();
    h.cloud.fault_on_resource("server-1", "create", Fault::Panic);
    let s = h.session(|s| web(s, 1, "a", "10.0.0.0/16"));
    let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.unwrap();
    assert_eq!(a.report.failures.len(), 1);
    assert!(a.report.failures[0].contains("server-1") && a.report.failures[0].contains("panicked"));
    let state = s.load_state().await.unwrap();
    assert_eq!(state.resources.len(), 2);
    h.assert_cloud_matches(&state);
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_reports_drift_and_records_it_when_asked() {
    let h = H::new();
    let s = h.session(|s| web(s, 1, "a", "10.0.0.0/16"));
    up(&s).await;
    let ids = h.cloud_by_urn();
    h.cloud.tamper(&ids["server-0"], "size", serde_json::json!(7));
    h.cloud.remove_behind_back(&ids["server-1"]);
    let before = std::fs::read(h.snapshot_path()).unwrap();
    let (drift, written) = s.refresh(4, &mut |_| Ok(false)).await.unwrap();
    assert!(!written);
    assert_eq!(drift.len(), 2);
    assert!(drift.iter().any(|d| d.urn.as_str() == "server-1" && d.diffs.is_none()), "gone");
    assert!(drift.iter().any(|d| d.urn.as_str() == "server-0" && d.diffs.as_ref().unwrap()[0].path == "size"));
    assert_eq!(std::fs::read(h.snapshot_path()).unwrap(), before, "not written without --yes");
    let p = s.preview(&RunOptions { refresh: true, ..opts() }).await.unwrap();
    let ops: Vec<_> = p.plan.changes().map(|st| (st.urn.to_string(), st.op)).collect();
    assert!(
        ops.contains(&("server-0".into(), Op::Update)) && ops.contains(&("server-1".into(), Op::Create)),
        "{ops:?}"
    );
    s.refresh(4, &mut |_| Ok(true)).await.unwrap();
    let state = s.load_state().await.unwrap();
    assert_eq!(state.resources[&Urn::new("server-0")].inputs.get("size"), &iac_core::Value::Int(7));
    assert!(!state.resources.contains_key(&Urn::new("server-1")));
    up(&s).await;
    h.assert_cloud_matches(&s.load_state().await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn components_prefix_their_children_and_can_be_instantiated_twice() {
    let h = H::new();
    let s = h.session(|s| {
        for name in ["blue", "green"] {
            let c = s.component("spec:Web", name);
            web(&c, 1, "a", "10.0.0.0/16")?;
        }
        Ok(())
    });
    let a = up(&s).await;
    let urns: Vec<_> = a.report.state.resources.keys().map(|u| u.to_string()).collect();
    for u in ["blue", "blue/net", "blue/server-0", "green", "green/server-1"] {
        assert!(urns.contains(&u.to_string()), "{u} in {urns:?}");
    }
    let d = destroy(&s).await;
    assert!(d.report.failures.is_empty() && h.cloud.inventory().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn state_writes_grow_linearly() {
    // One journal record per operation plus one snapshot: bytes written stay
    // within a small multiple of the final state, whatever N is.
    for n in [50usize, 400] {
        let h = H::new();
        let s = h.session(move |s| {
            for i in 0..n {
                s.add(&format!("s{i}"), Server::builder().size(1).build());
            }
            Ok(())
        });
        up(&s).await;
        let written = s.backend.bytes_written();
        let snapshot = std::fs::metadata(h.snapshot_path()).unwrap().len();
        assert!(written <= 3 * snapshot, "n={n}: wrote {written} for a {snapshot}-byte state");
    }
}

/// A refresh asks the provider for many resources of one type per call
/// (`read_many`), so a cloud that describes many per request is asked once
/// per type and hundred, not once per resource.
#[tokio::test(flavor = "multi_thread")]
async fn refresh_reads_resources_in_batches_per_type() {
    let h = H::new();
    let s = h.session(|s| {
        let net = s.add("net", Network::builder().cidr("10.0.0.0/16").build());
        for i in 0..150 {
            s.add(&format!("s{i}"), Server::builder().size(1).network_id(net.id.clone()).build());
        }
        Ok(())
    });
    up(&s).await;
    let order: Vec<String> = s.load_state().await.unwrap().resources.keys().map(|u| u.as_str().to_owned()).collect();
    let ids = h.cloud_by_urn();
    h.cloud.tamper(&ids["s7"], "size", serde_json::json!(3));
    h.cloud.remove_behind_back(&ids["s140"]);
    let before = h.cloud.calls();
    let (drift, _) = s.refresh(8, &mut |_| Ok(true)).await.unwrap();
    // One network; 150 servers in batches of 100.
    assert_eq!(h.cloud.calls() - before, 3, "one call per type and batch");
    let drifted: Vec<&str> = drift.iter().map(|d| d.urn.as_str()).collect();
    // State order is the order the parallel `up` recorded them in.
    let in_state_order: Vec<&str> = order.iter().map(String::as_str).filter(|u| ["s7", "s140"].contains(u)).collect();
    assert_eq!(drifted, in_state_order, "the same drift as one read each, in state order");
    let state = s.load_state().await.unwrap();
    assert_eq!(state.resources[&Urn::new("s7")].inputs.get("size").as_i64(), Some(3));
    assert!(!state.resources.contains_key(&Urn::new("s140")));
    // The provider was told of every read first, and that the reads were
    // done after, even when a batch fails.
    assert_eq!(h.cloud.read_ahead_log(), ["ahead 151", "done"]);
    h.cloud.fail_nth_call(h.cloud.calls() + 1);
    assert!(s.refresh(8, &mut |_| Ok(true)).await.is_err(), "a failed read fails the refresh");
    assert_eq!(h.cloud.read_ahead_log(), ["ahead 151", "done", "ahead 150", "done"]);
}

/// ```text
/// b-0 … b-7 (replaced delete-first) ◄── srv (replaced create-first)
/// ```
/// The buckets' old copies go, together, while the server's old copy still
/// depends on them (the server moves only once the new buckets exist).
/// When the new buckets' creates then fail, the state stored still passes
/// its integrity check, and the next run finishes the replaces.
#[tokio::test(flavor = "multi_thread")]
async fn a_failure_after_a_delete_first_replace_leaves_a_state_that_loads() {
    let h = H::new();
    let prog = |name: &'static str, zone: &'static str| {
        move |s: &Stack| {
            let net = s.add("net", Network::builder().cidr("10.0.0.0/16").build());
            let mut options = ResourceOptions::new();
            for i in 0..8 {
                s.add(&format!("b-{i}"), Bucket::builder().name(format!("{name}-{i}")).build());
                options = options.depends_on(Urn::new(format!("b-{i}")));
            }
            s.add_with("srv", Server::builder().size(1).zone(zone).network_id(net.id.clone()).build(), options);
            Ok(())
        }
    };
    up(&h.session(prog("logs", "a"))).await;
    for i in 0..8 {
        h.cloud.fault_on_resource(&format!("b-{i}"), "create", Fault::Fail);
    }
    let s = h.session(prog("logs-2", "b"));
    let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.unwrap();
    assert_eq!(a.report.failures.len(), 8, "{:?}", a.report.failures);
    let state = s.load_state().await.expect("the state stored mid-replace loads");
    assert!(state.resources.keys().all(|u| !u.as_str().starts_with("b-")), "the old buckets are gone");
    h.assert_cloud_matches(&state);
    h.cloud.clear_faults();
    up(&s).await;
    let state = s.load_state().await.unwrap();
    assert_eq!(state.resources[&Urn::new("srv")].deps.iter().filter(|d| d.as_str().starts_with("b-")).count(), 8);
    h.assert_cloud_matches(&state);
}

/// ```text
/// net ◄── server-0 … server-7     (all replaced create-first)
/// ```
/// The replaces' deletes fail, leaving every old copy to the next run: it
/// deletes them dependents first, as their records say, the old servers
/// before the old network.
#[tokio::test(flavor = "multi_thread")]
async fn old_copies_left_by_a_failed_replace_are_deleted_dependents_first() {
    let h = H::new();
    let prog = |zone: &'static str, cidr: &'static str| {
        move |s: &Stack| {
            let net = s.add("net", Network::builder().cidr(cidr).build());
            for i in 0..8 {
                s.add(&format!("server-{i}"), Server::builder().size(1).zone(zone).network_id(net.id.clone()).build());
            }
            Ok(())
        }
    };
    up(&h.session(prog("a", "10.0.0.0/16"))).await;
    for i in 0..8 {
        h.cloud.fault_on_resource(&format!("server-{i}"), "delete", Fault::Fail);
    }
    let s = h.session(prog("b", "10.1.0.0/16"));
    let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.unwrap();
    assert_eq!(a.report.failures.len(), 8, "{:?}", a.report.failures);
    assert_eq!(s.load_state().await.unwrap().retired.len(), 9, "every old copy is left");
    h.cloud.clear_faults();
    let before = h.cloud.call_log().len();
    up(&s).await;
    let log = h.cloud.call_log()[before..].to_vec();
    let net = pos(&log, "delete net");
    assert!((0..8).all(|i| pos(&log, &format!("delete server-{i}")) < net), "{log:?}");
    let state = s.load_state().await.unwrap();
    assert!(state.retired.is_empty());
    h.assert_cloud_matches(&state);
}

/// ```text
/// net ◄── server-0 … server-7     (all replaced create-first)
/// ```
/// The new servers' creates fail: the new network exists, its old copy is
/// left to the next run, and the servers' live records still point at it.
/// The next run replaces the servers and deletes the old network only once
/// the old servers are gone.
#[tokio::test(flavor = "multi_thread")]
async fn an_old_copy_left_by_a_failed_replace_goes_after_the_records_that_point_at_it() {
    let h = H::new();
    let prog = |zone: &'static str, cidr: &'static str| {
        move |s: &Stack| {
            let net = s.add("net", Network::builder().cidr(cidr).build());
            for i in 0..8 {
                s.add(&format!("server-{i}"), Server::builder().size(1).zone(zone).network_id(net.id.clone()).build());
            }
            Ok(())
        }
    };
    up(&h.session(prog("a", "10.0.0.0/16"))).await;
    for i in 0..8 {
        h.cloud.fault_on_resource(&format!("server-{i}"), "create", Fault::Fail);
    }
    let s = h.session(prog("b", "10.1.0.0/16"));
    let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.unwrap();
    assert_eq!(a.report.failures.len(), 8, "{:?}", a.report.failures);
    let state = s.load_state().await.unwrap();
    assert_eq!(state.retired.iter().map(|r| r.urn.as_str()).collect::<Vec<_>>(), ["net"], "the old network is left");
    h.cloud.clear_faults();
    let before = h.cloud.call_log().len();
    up(&s).await;
    let log = h.cloud.call_log()[before..].to_vec();
    let net = pos(&log, "delete net");
    assert!((0..8).all(|i| pos(&log, &format!("delete server-{i}")) < net), "{log:?}");
    let state = s.load_state().await.unwrap();
    assert!(state.retired.is_empty());
    h.assert_cloud_matches(&state);
}

/// The preview asks the provider about what the plan creates or changes,
/// never about what stays as it is, and reports every problem at once. An
/// answer that fails is a warning: the offline checks still hold.
#[tokio::test(flavor = "multi_thread")]
async fn preview_asks_the_provider_only_about_what_changes() {
    let h = H::new();
    let prog = |zones: [&'static str; 3]| {
        move |s: &Stack| {
            let net = s.add("net", Network::builder().cidr("10.0.0.0/16").build());
            for (i, zone) in zones.iter().enumerate() {
                s.add(&format!("srv-{i}"), Server::builder().size(1).zone(*zone).network_id(net.id.clone()).build());
            }
            Ok(())
        }
    };
    up(&h.session(prog(["a", "a", "a"]))).await;
    h.cloud.set_offered_zones(Ok(vec!["b".into()]));
    let Err(Error::Invalid(diags)) = h.session(prog(["a", "c", "d"])).preview(&opts()).await else {
        panic!("the preview must fail on the zones not offered")
    };
    let urns: Vec<&str> = diags.iter().map(|d| d.urn.as_str()).collect();
    assert_eq!(urns, ["srv-1", "srv-2"], "srv-0 is unchanged, so not asked about: {diags:?}");
    assert!(diags.iter().all(|d| d.field == "zone" && d.message.contains("it offers b")), "{diags:?}");

    h.cloud.set_offered_zones(Err("endpoint unreachable".into()));
    h.events.lock().unwrap().clear();
    h.session(prog(["a", "c", "d"])).preview(&opts()).await.expect("a failed answer does not fail the preview");
    let warned = h.events.lock().unwrap().iter().any(
        |e| matches!(e, iac_core::Event::Warning { message } if message.contains("could not ask provider `test`") && message.contains("endpoint unreachable")),
    );
    assert!(warned, "the failed answer is a warning");
}

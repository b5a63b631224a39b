//! The fifteen ways an adversarial review broke the engine's promises (no
//! twins, no lost options, a state that always loads, no plaintext secret),
//! each as a lifecycle scenario that failed before its fix.
//!
//! ```text
//! net ◄── app/server-0, app/server-1      (app is a component)
//! bucket (optional, protected or not)
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use iac_core::ops::{RunOptions, SavedPlan};
use iac_core::testing::{Bucket, Fault, Network, Server, THING};
use iac_core::{Error, Expr, Op, ResourceOptions, Stack, Urn, Value};

use crate::support::*;

const PASSWORD: &str = "correct-horse-battery-staple";

#[derive(Clone)]
struct App {
    zone: &'static str,
    cidr: &'static str,
    size: i64,
    servers: usize,
    password: bool,
    bucket: Option<ResourceOptions>,
    server_options: ResourceOptions,
    net_options: ResourceOptions,
}

impl Default for App {
    fn default() -> Self {
        App {
            zone: "a",
            cidr: "10.0.0.0/16",
            size: 1,
            servers: 2,
            password: false,
            bucket: None,
            server_options: ResourceOptions::new(),
            net_options: ResourceOptions::new(),
        }
    }
}

fn app(s: &Stack, a: &App) -> Result<(), Error> {
    let net = s.add_with("net", Network::builder().cidr(a.cidr).build(), a.net_options.clone());
    let app = s.component("test:App", "app");
    for i in 0..a.servers {
        let password = a.password.then(|| iac_core::Input::Value(PASSWORD.to_owned()));
        let server =
            Server::builder().size(a.size).zone(a.zone).network_id(net.id.clone()).maybe_password(password).build();
        app.add_with(&format!("server-{i}"), server, a.server_options.clone());
    }
    if let Some(o) = &a.bucket {
        s.add_with("bucket", Bucket::builder().name("logs").build(), o.clone());
    }
    Ok(())
}

fn session(h: &H, a: App) -> iac_core::ops::Session {
    h.session(move |s| app(s, &a))
}

/// Cloud resources of one identity.
fn copies(h: &H, urn: &str) -> Vec<String> {
    h.cloud.inventory().into_iter().filter(|(_, r)| r.urn == urn).map(|(id, _)| id).collect()
}

async fn try_up(s: &iac_core::ops::Session) -> Result<iac_core::ops::Applied, Error> {
    s.up(&opts(), None, &mut |_, _| Ok(true)).await
}

/// After a clean `up`, a refreshed preview plans nothing: what the state
/// records is what the cloud holds.
async fn converged(h: &H, s: &iac_core::ops::Session) {
    h.restart();
    up(s).await;
    let p = s.preview(&RunOptions { refresh: true, ..opts() }).await.unwrap();
    assert!(p.drift.is_empty(), "drift after converging: {:?}", p.drift);
    assert!(!p.plan.has_changes(&p.state.outputs), "changes after converging: {:?}", p.plan.steps);
    let state = s.load_state().await.unwrap();
    h.assert_cloud_matches(&state);
}

// 1. A killed create-before-delete replace leaves a twin.
#[tokio::test(flavor = "multi_thread")]
async fn a_replace_killed_after_its_create_leaves_no_twin() {
    let h = H::new();
    up(&session(&h, App::default())).await;
    h.cloud.fault_on_resource("app/server-0", "create", Fault::Kill { after: true });
    let s = session(&h, App { zone: "b", ..App::default() });
    let _ = try_up(&s).await;
    assert_eq!(copies(&h, "app/server-0").len(), 2, "the old copy and the new one");
    h.restart();
    up(&s).await;
    assert_eq!(copies(&h, "app/server-0").len(), 1, "{:?}", h.cloud.inventory());
    converged(&h, &s).await;
}

// 1. The same with the replacement's response lost.
#[tokio::test(flavor = "multi_thread")]
async fn a_replace_whose_create_response_was_lost_leaves_no_twin() {
    let h = H::new();
    up(&session(&h, App::default())).await;
    h.cloud.fault_on_resource("app/server-0", "create", Fault::LostResponse(1));
    let s = session(&h, App { zone: "b", ..App::default() });
    up(&s).await;
    assert_eq!(copies(&h, "app/server-0").len(), 1, "{:?}", h.cloud.inventory());
    converged(&h, &s).await;
}

// 2. A create whose outcome is unknown (timed out after the cloud acted) is
// adopted, not closed as failed and made again.
#[tokio::test(flavor = "multi_thread")]
async fn a_create_that_timed_out_after_acting_is_adopted() {
    let h = H::new();
    let a = App {
        servers: 1,
        server_options: ResourceOptions::new().create_timeout(Duration::from_millis(150)),
        ..App::default()
    };
    h.cloud.fault_on_resource("app/server-0", "create", Fault::Hang);
    let s = session(&h, a);
    let applied = try_up(&s).await.unwrap();
    let failure = applied.report.failures.join("\n");
    assert!(failure.contains("150ms"), "the timeout is named as set: {failure}");
    let state = s.load_state().await.unwrap();
    assert!(state.resources.contains_key(&Urn::new("app/server-0")), "adopted: {:?}", state.resources.keys());
    h.restart();
    up(&s).await;
    assert_eq!(copies(&h, "app/server-0").len(), 1);
    converged(&h, &s).await;
}

// 2. A create whose retry cannot look for what it made stays in flight, and
// the next run adopts it.
#[tokio::test(flavor = "multi_thread")]
async fn a_create_whose_retry_cannot_find_stays_in_flight() {
    let h = H::new();
    h.cloud.fault_on_resource("app/server-0", "create", Fault::LostResponse(1));
    h.cloud.fault_on_resource("app/server-0", "find", Fault::Fail);
    let s = session(&h, App { servers: 1, ..App::default() });
    let applied = try_up(&s).await.unwrap();
    assert_eq!(applied.report.failures.len(), 1);
    let state = s.load_state().await.unwrap();
    assert_eq!(state.pending.len(), 1, "still in flight: {:?}", state.pending);
    h.restart();
    up(&s).await;
    assert_eq!(copies(&h, "app/server-0").len(), 1, "{:?}", h.cloud.inventory());
    converged(&h, &s).await;
}

// 3. An unresolved pending create stops a new create.
#[tokio::test(flavor = "multi_thread")]
async fn an_unresolved_create_in_flight_stops_the_next_run() {
    let h = H::new();
    h.cloud.fault_on_resource("app/server-0", "create", Fault::Kill { after: true });
    let s = session(&h, App { servers: 1, ..App::default() });
    let _ = try_up(&s).await;
    h.restart();
    h.cloud.fault_on_resource("app/server-0", "find", Fault::Fail);
    let creates = h.cloud.call_log().len();
    let err = try_up(&s).await.err().expect("refused");
    assert!(matches!(err, Error::Unresolved(_)), "{err}");
    assert!(err.to_string().contains("app/server-0"), "{err}");
    assert_eq!(h.cloud.call_log().len(), creates, "no cloud change");
    assert_eq!(copies(&h, "app/server-0").len(), 1);
    let err = s.destroy(&opts(), &mut |_, _| Ok(true)).await.err().expect("refused");
    assert!(matches!(err, Error::Unresolved(_)), "{err}");
    assert_eq!(copies(&h, "app/server-0").len(), 1);
    converged(&h, &s).await;
    assert_eq!(copies(&h, "app/server-0").len(), 1);
}

// 4. A failed journal append after a successful create keeps the resource.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_journal_append_after_a_create_keeps_the_resource() {
    let h = H::new();
    // One resource and no component, so the appends are exactly the begin
    // of `net`'s create and then its end.
    let s = h.session(|s| {
        s.add("net", Network::builder().cidr("10.0.0.0/16").build());
        Ok(())
    });
    h.backend.fail_append(2);
    let applied = try_up(&s).await.unwrap();
    assert!(!applied.report.failures.is_empty());
    let state = s.load_state().await.unwrap();
    assert!(state.resources.contains_key(&Urn::new("net")), "recorded by the snapshot");
    assert_eq!(copies(&h, "net").len(), 1);
    converged(&h, &s).await;
    assert_eq!(copies(&h, "net").len(), 1);
}

// 5. A retried create records what it adopted, not the desired inputs.
#[tokio::test(flavor = "multi_thread")]
async fn a_retried_create_records_what_it_adopted() {
    use iac_core::provider::{CreateRequest, Provider};
    let h = H::new();
    // A copy in zone a carrying the identity, made by a run the state never
    // heard of.
    let stray = iac_core::testing::SERVER.type_token;
    h.cloud
        .create(CreateRequest {
            type_token: stray,
            urn: Urn::new("app/server-0"),
            stack: "spec/dev".into(),
            inputs: Value::from_json(
                &serde_json::json!({"size": 1, "zone": "a", "networkId": null, "password": null, "tags": {}}),
            ),
            timeout: None,
            known_ids: vec![],
            idempotency_token: CreateRequest::new_idempotency_token(),
        })
        .await
        .unwrap();
    h.cloud.fault_on_resource("app/server-0", "create", Fault::Retriable(1));
    let s = h.session(|s| {
        let app = s.component("test:App", "app");
        app.add("server-0", Server::builder().size(1).zone("c").build());
        Ok(())
    });
    up(&s).await;
    let state = s.load_state().await.unwrap();
    let recorded = &state.resources[&Urn::new("app/server-0")];
    assert_eq!(recorded.inputs.get("zone").as_str(), Some("a"), "recorded as the cloud holds it");
    let p = s.preview(&opts()).await.unwrap();
    let step = p.plan.steps.iter().find(|st| st.urn.as_str() == "app/server-0").unwrap();
    assert_eq!(step.op, Op::Replace, "the zone still differs");
    converged(&h, &s).await;
}

// 6. An option-only change is recorded.
#[tokio::test(flavor = "multi_thread")]
async fn an_option_only_change_is_recorded() {
    let h = H::new();
    up(&session(&h, App { bucket: Some(ResourceOptions::new()), ..App::default() })).await;
    let s = session(&h, App { bucket: Some(ResourceOptions::new().protect()), ..App::default() });
    let p = s.preview(&opts()).await.unwrap();
    assert!(p.plan.has_changes(&p.state.outputs), "the option is a change to record");
    up(&s).await;
    let state = s.load_state().await.unwrap();
    assert!(state.resources[&Urn::new("bucket")].options.protect);
    let err = try_up(&session(&h, App::default())).await.err().expect("refused");
    assert!(matches!(err, Error::Protected(_, "delete")), "{err}");
    let err = s.destroy(&opts(), &mut |_, _| Ok(true)).await.err().expect("refused");
    assert!(matches!(err, Error::Protected(_, "delete")), "{err}");
    assert_eq!(copies(&h, "bucket").len(), 1);
}

// 7. `destroy` after a crash recovers as the create planned it: a protected
// resource stays, dependencies and secrets are kept.
#[tokio::test(flavor = "multi_thread")]
async fn destroy_after_a_crash_keeps_options_dependencies_and_secrets() {
    let h = H::new();
    let a = App { password: true, bucket: Some(ResourceOptions::new().protect()), ..App::default() };
    h.cloud.fault_on_resource("bucket", "create", Fault::Kill { after: true });
    let s = session(&h, a.clone());
    let _ = try_up(&s).await;
    h.restart();
    // The program changed since: only the state knows how the dead run's
    // create was meant to be recorded.
    let s = h.session(|_| Ok(()));
    let err = s.destroy(&opts(), &mut |_, _| Ok(true)).await.err().expect("the adopted bucket is protected");
    assert!(matches!(err, Error::Protected(ref u, "delete") if u.as_str() == "bucket"), "{err}");
    assert_eq!(copies(&h, "bucket").len(), 1);

    let h = H::new();
    h.cloud.fault_on_resource("app/server-0", "create", Fault::Kill { after: true });
    let s = session(&h, App { password: true, ..App::default() });
    let _ = try_up(&s).await;
    h.restart();
    // The destroy fails on the network, so what recovery adopted stays
    // recorded for a look.
    h.cloud.fault_on_resource("net", "delete", Fault::Fail);
    let destroyed = h.session(|_| Ok(())).destroy(&opts(), &mut |_, _| Ok(true)).await.unwrap();
    assert!(!destroyed.report.failures.is_empty());
    let state = s.load_state().await.unwrap();
    assert!(state.resources.contains_key(&Urn::new("net")));
    assert!(copies(&h, "app/server-0").is_empty(), "the children went before the network");
    assert_no_plaintext(h.dir.path(), PASSWORD);

    let h = H::new();
    h.cloud.fault_on_resource("app/server-0", "create", Fault::Kill { after: true });
    let s = session(&h, App { password: true, ..App::default() });
    let _ = try_up(&s).await;
    h.restart();
    // Recovery alone (a targeted destroy of something never created)
    // adopts the server as its create planned it.
    let with_extra = h.session(|s| {
        s.add("extra", Network::builder().cidr("10.7.0.0/16").build());
        Ok(())
    });
    let extra = RunOptions { targets: vec!["extra".into()], ..opts() };
    with_extra.destroy(&extra, &mut |_, _| Ok(true)).await.unwrap();
    let state = s.load_state().await.unwrap();
    let server = &state.resources[&Urn::new("app/server-0")];
    assert!(matches!(server.inputs.get("password"), Value::Secret(_)), "still a secret");
    assert!(server.deps.contains(&Urn::new("net")) && server.deps.contains(&Urn::new("app")), "{:?}", server.deps);
    assert_no_plaintext(h.dir.path(), PASSWORD);
    destroy(&s).await;
    assert!(h.cloud.inventory().is_empty());
}

// 8. `ignore_changes` holds for the create half of a replace.
#[tokio::test(flavor = "multi_thread")]
async fn ignored_paths_keep_their_recorded_value_in_a_replacement() {
    let h = H::new();
    let ignore = ResourceOptions::new().ignore_changes(["size"]);
    up(&session(&h, App { servers: 1, server_options: ignore.clone(), ..App::default() })).await;
    let s = session(&h, App { servers: 1, size: 9, zone: "b", server_options: ignore, ..App::default() });
    let p = s.preview(&opts()).await.unwrap();
    let step = p.plan.steps.iter().find(|st| st.urn.as_str() == "app/server-0").unwrap();
    assert_eq!(step.op, Op::Replace);
    assert_eq!(step.new_inputs.as_ref().unwrap().get("size").as_i64(), Some(1));
    up(&s).await;
    let id = &copies(&h, "app/server-0")[0];
    assert_eq!(h.cloud.inventory()[id].inputs["size"], 1, "created as the plan showed");
}

// 9. `refresh` after a dependency was deleted outside the tool.
#[tokio::test(flavor = "multi_thread")]
async fn refresh_after_a_dependency_went_out_of_band_leaves_a_loadable_state() {
    let h = H::new();
    let s = session(&h, App::default());
    up(&s).await;
    h.cloud.remove_behind_back(&copies(&h, "net")[0]);
    s.refresh(8, &mut |_| Ok(true)).await.unwrap();
    let state = s.load_state().await.expect("loads");
    assert!(!state.resources.contains_key(&Urn::new("net")));
    converged(&h, &s).await;
}

// 10. A delete-before-replace resource with dependents whose new copy fails.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_delete_first_replace_with_dependents_leaves_a_loadable_state() {
    for fault in [Fault::Fail, Fault::Kill { after: false }] {
        let h = H::new();
        let dbr = App { net_options: ResourceOptions::new().delete_before_replace(), ..App::default() };
        up(&session(&h, dbr.clone())).await;
        h.cloud.fault_on_resource("net", "create", fault);
        let s = session(&h, App { cidr: "10.1.0.0/16", ..dbr });
        let _ = try_up(&s).await;
        h.restart();
        s.load_state().await.expect("loads");
        converged(&h, &s).await;
    }
}

// 11. A dependency removed from the program while its dependent stays,
// killed between the delete and the bookkeeping.
#[tokio::test(flavor = "multi_thread")]
async fn a_dependency_removed_while_its_dependent_stays_survives_a_kill() {
    let h = H::new();
    let with_dep = |s: &Stack| {
        let net = s.add("net", Network::builder().cidr("10.0.0.0/16").build());
        s.add_with("solo", Server::builder().size(1).build(), ResourceOptions::new().depends_on(&net));
        Ok(())
    };
    up(&h.session(with_dep)).await;
    let s = h.session(|s| {
        s.add("solo", Server::builder().size(1).build());
        Ok(())
    });
    // Appends: the delete's begin, its end, then the bookkeeping.
    h.backend.kill_at_append(3);
    let _ = try_up(&s).await;
    h.restart();
    let state = s.load_state().await.expect("loads");
    assert!(!state.resources.contains_key(&Urn::new("net")));
    converged(&h, &s).await;
}

// 12. A targeted delete of something an untargeted resource depends on.
#[tokio::test(flavor = "multi_thread")]
async fn a_targeted_delete_refuses_untargeted_dependents() {
    let h = H::new();
    up(&session(&h, App::default())).await;
    let s = h.session(|_| Ok(()));
    let targeted = RunOptions { targets: vec!["net".into()], ..opts() };
    let err = s.up(&targeted, None, &mut |_, _| Ok(true)).await.err().expect("refused");
    assert!(matches!(err, Error::UntargetedDependents { .. }), "{err}");
    assert!(err.to_string().contains("app/server-0") && err.to_string().contains("--target-dependents"), "{err}");
    assert_eq!(copies(&h, "net").len(), 1);
    let with_dependents = RunOptions { target_dependents: true, ..targeted };
    s.up(&with_dependents, None, &mut |_, _| Ok(true)).await.unwrap();
    assert!(h.cloud.inventory().is_empty(), "{:?}", h.cloud.inventory());
    s.load_state().await.expect("loads");
}

// 13. The old copy left by an interrupted replace waits for its dependents.
#[tokio::test(flavor = "multi_thread")]
async fn an_old_copy_waits_for_the_dependents_still_using_it() {
    let h = H::new();
    up(&session(&h, App::default())).await;
    let old_net = copies(&h, "net")[0].clone();
    let s = session(&h, App { cidr: "10.9.0.0/16", ..App::default() });
    for _ in 0..2 {
        h.cloud.fault_on_resource("app/server-0", "update", Fault::Fail);
        let _ = try_up(&s).await;
        h.cloud.clear_faults();
        assert!(h.cloud.inventory().contains_key(&old_net), "server-0 still uses the old network");
        let server = &copies(&h, "app/server-0")[0];
        assert_eq!(h.cloud.inventory()[server].inputs["networkId"], old_net.as_str());
    }
    converged(&h, &s).await;
    assert!(!h.cloud.inventory().contains_key(&old_net));
}

fn thing(s: &Stack, name: &str, extra: (&str, Expr)) -> Urn {
    let mut m = BTreeMap::new();
    m.insert("key".to_owned(), Expr::Value(Value::from(1)));
    m.insert(extra.0.to_owned(), extra.1);
    s.register(name, &THING, Expr::Map(m), ResourceOptions::default())
}

// 14. `refresh` keeps a secret nested in a map sealed.
#[tokio::test(flavor = "multi_thread")]
async fn refresh_keeps_nested_secrets_sealed() {
    let h = H::new();
    let s = h.session(|s| {
        let mut inner = BTreeMap::new();
        inner.insert("password".to_owned(), Expr::Secret(Box::new(Expr::Value(Value::from(PASSWORD)))));
        inner.insert("user".to_owned(), Expr::Value(Value::from("admin")));
        thing(s, "db", ("config", Expr::Map(inner)));
        Ok(())
    });
    up(&s).await;
    let id = copies(&h, "db")[0].clone();
    h.cloud.tamper(&id, "drifted", serde_json::json!(true));
    s.refresh(8, &mut |_| Ok(true)).await.unwrap();
    assert_no_plaintext(h.dir.path(), PASSWORD);
    let state = s.load_state().await.unwrap();
    assert!(matches!(state.resources[&Urn::new("db")].inputs.get("config").get("password"), Value::Secret(_)));
}

// 15. A plain map whose only key is `$secret`.
#[tokio::test(flavor = "multi_thread")]
async fn a_map_keyed_like_a_sealed_secret_round_trips() {
    let h = H::new();
    let s = h.session(|s| {
        let mut odd = BTreeMap::new();
        odd.insert("$secret".to_owned(), Expr::Value(Value::from("not one")));
        thing(s, "odd", ("meta", Expr::Map(odd)));
        let mut escaped = BTreeMap::new();
        escaped.insert("$$x".to_owned(), Expr::Value(Value::from(1)));
        thing(s, "odder", ("meta", Expr::Map(escaped)));
        Ok(())
    });
    up(&s).await;
    let state = s.load_state().await.expect("loads");
    assert_eq!(state.resources[&Urn::new("odd")].inputs.get("meta").get("$secret").as_str(), Some("not one"));
    assert_eq!(state.resources[&Urn::new("odder")].inputs.get("meta").get("$$x").as_i64(), Some(1));
    assert_eq!(s.preview(&opts()).await.unwrap().plan.changes().count(), 0);
}

// Smaller: a plan saved after a crash can be applied.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_saved_after_a_crash_applies() {
    let h = H::new();
    h.cloud.fault_on_resource("app/server-0", "create", Fault::Kill { after: true });
    let s = session(&h, App::default());
    let _ = try_up(&s).await;
    h.restart();
    let file = h.dir.path().join("plan.json");
    let p = s.preview(&opts()).await.unwrap();
    s.save_plan(&p.plan, &opts(), &file).unwrap();
    let saved = SavedPlan::load(&file).unwrap();
    let a = s.up(&opts(), Some((&file, saved)), &mut |_, _| Ok(true)).await.expect("the saved plan applies");
    assert!(a.report.failures.is_empty(), "{:?}", a.report.failures);
    assert_eq!(copies(&h, "app/server-0").len(), 1);
    converged(&h, &s).await;
}

// Smaller: a targeted destroy rerun after a kill that had deleted the target.
#[tokio::test(flavor = "multi_thread")]
async fn a_targeted_destroy_rerun_after_a_kill_finishes() {
    let h = H::new();
    let s = session(&h, App { servers: 0, ..App::default() });
    up(&s).await;
    h.cloud.fault_on_resource("net", "delete", Fault::Kill { after: true });
    let net = RunOptions { targets: vec!["net".into()], ..opts() };
    let _ = s.destroy(&net, &mut |_, _| Ok(true)).await;
    h.restart();
    s.destroy(&net, &mut |_, _| Ok(true)).await.expect("nothing left to do is no error");
    let state = s.load_state().await.unwrap();
    assert!(!state.resources.contains_key(&Urn::new("net")));
    assert!(h.cloud.inventory().is_empty());
}

// Found by the fuzzer: a copy the state lets go of (retained on delete, or
// forgotten by `state rm`) keeps the stack's identity in the cloud; a
// create whose response was lost must not take it for what it made.
#[tokio::test(flavor = "multi_thread")]
async fn a_released_copy_is_never_taken_for_a_new_one() {
    let prog = |key: i64, retain: bool| {
        move |s: &Stack| {
            let mut m = BTreeMap::new();
            m.insert("key".to_owned(), Expr::Value(Value::from(key)));
            let mut o = ResourceOptions::new().delete_before_replace();
            o.retain_on_delete = retain;
            s.register("r1", &THING, Expr::Map(m), o);
            Ok(())
        }
    };
    // A delete-first replace of a retained resource: the old copy is let
    // go of before the new one is made.
    let h = H::new();
    up(&h.session(prog(0, true))).await;
    let old = copies(&h, "r1");
    h.cloud.fault_on_resource("r1", "create", Fault::LostResponse(1));
    let s = h.session(prog(1, true));
    up(&s).await;
    let state = s.load_state().await.unwrap();
    let new = state.resources[&Urn::new("r1")].id.clone().unwrap();
    assert!(!old.contains(&new), "the retained old copy was adopted as the new one");
    assert_eq!(copies(&h, "r1").len(), 2, "the retained copy and the new one");

    // Let go of by `state rm`, then declared again.
    let h = H::new();
    let s = h.session(prog(0, false));
    up(&s).await;
    let old = copies(&h, "r1");
    s.state_rm("r1").await.unwrap();
    h.cloud.fault_on_resource("r1", "create", Fault::LostResponse(1));
    up(&s).await;
    let state = s.load_state().await.unwrap();
    assert!(!old.contains(state.resources[&Urn::new("r1")].id.as_ref().unwrap()), "the forgotten copy was adopted");
}

// Found by the fuzzer: orderings that form a cycle. `r1` is replaced
// delete-first; `r2` and `r3` depended on it and are removed; `r4` used them
// and now depends on `r1`. Deleting `r2` waits for `r4` to move off it,
// `r4` waits for the new `r1`, the new `r1` for the old one's delete, and
// that for `r2`'s. The apply ran nothing and reported nothing.
#[tokio::test(flavor = "multi_thread")]
async fn orderings_that_form_a_cycle_still_apply() {
    let thing = |s: &Stack, name: &str, key: i64, deps: &[&Urn], dbr: bool| {
        let mut m = BTreeMap::new();
        m.insert("key".to_owned(), Expr::Value(Value::from(key)));
        m.insert("size".to_owned(), Expr::Value(Value::from(deps.len() as i64)));
        let mut o = ResourceOptions::new();
        o.delete_before_replace = dbr;
        for d in deps {
            o = o.depends_on(*d);
        }
        s.register(name, &THING, Expr::Map(m), o)
    };
    let h = H::new();
    let before = h.session(move |s| {
        let r1 = thing(s, "r1", 0, &[], true);
        let r2 = thing(s, "r2", 0, &[&r1], false);
        let r3 = thing(s, "r3", 0, &[&r1], false);
        thing(s, "r4", 0, &[&r2, &r3], false);
        Ok(())
    });
    up(&before).await;
    let after = h.session(move |s| {
        let r1 = thing(s, "r1", 1, &[], true);
        thing(s, "r4", 0, &[&r1], false);
        Ok(())
    });
    let a = after.up(&opts(), None, &mut |_, _| Ok(true)).await.unwrap();
    assert!(a.report.failures.is_empty(), "{:?}", a.report.failures);
    assert!(copies(&h, "r2").is_empty() && copies(&h, "r3").is_empty());
    converged(&h, &after).await;
}

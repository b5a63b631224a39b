//! Generated programs, prior states and flaky providers: whatever happens,
//! the state left behind loads, passes its integrity check, and agrees with
//! the cloud.

use std::collections::BTreeMap;

use iac_core::testing::{Fault, THING};
use iac_core::{Expr, Output, ResourceOptions, Stack, Urn, Value};
use proptest::prelude::*;

use crate::support::*;

#[derive(Clone, Debug)]
struct Res {
    key: u8,
    size: u8,
    /// Index of an earlier resource whose id this one reads.
    dep: Option<usize>,
    /// Whether it sits inside the component.
    in_component: bool,
}

#[derive(Clone, Debug)]
enum Flake {
    None,
    Fail(u64),
    Retry(u64),
    Panic(u64),
}

fn resources() -> impl Strategy<Value = Vec<Res>> {
    prop::collection::vec((0u8..3, 0u8..4, any::<bool>(), any::<prop::sample::Index>(), any::<bool>()), 0..12).prop_map(
        |v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (key, size, has_dep, dep, in_component))| Res {
                    key,
                    size,
                    dep: (has_dep && i > 0).then(|| dep.index(i)),
                    in_component,
                })
                .collect()
        },
    )
}

fn flake() -> impl Strategy<Value = Flake> {
    prop_oneof![
        Just(Flake::None),
        (1u64..20).prop_map(Flake::Fail),
        (1u64..20).prop_map(Flake::Retry),
        (1u64..20).prop_map(Flake::Panic),
    ]
}

fn declare(s: &Stack, prog: &[Res]) {
    let comp = s.component("gen:Group", "group");
    let mut urns: Vec<Urn> = Vec::new();
    for (i, r) in prog.iter().enumerate() {
        let mut m = BTreeMap::new();
        m.insert("key".to_owned(), Expr::Value(Value::from(r.key as i64)));
        m.insert("size".to_owned(), Expr::Value(Value::from(r.size as i64)));
        if let Some(d) = r.dep {
            let o: Output<String> = Output::from_ref(&urns[d], "id");
            m.insert("dep".to_owned(), o.expr().clone());
        }
        let target = if r.in_component { &comp } else { s };
        urns.push(target.register(&format!("r{i}"), &THING, Expr::Map(m), ResourceOptions::default()));
    }
}

async fn check(h: &H) {
    let s = h.session(|_| Ok(()));
    let state = s.load_state().await.expect("the state always loads and passes its integrity check");
    let cloud = h.cloud.inventory();
    // Every recorded copy (live, or an old copy of a replace still to be
    // deleted) exists in the cloud under its identity.
    for r in state.resources.values().chain(&state.retired) {
        if let Some(id) = &r.id {
            let held = cloud.get(id).map(|c| c.urn.as_str());
            assert_eq!(held, Some(r.urn.as_str()), "{} ({id}) recorded but not in the cloud", r.urn);
        }
    }
    // Every cloud resource is known to the state: recorded by id, or the
    // subject of an operation left in flight.
    let ids: Vec<&str> = state.resources.values().chain(&state.retired).filter_map(|r| r.id.as_deref()).collect();
    let pending: Vec<&str> = state.pending.iter().map(|p| p.urn.as_str()).collect();
    for (id, r) in &cloud {
        assert!(ids.contains(&id.as_str()) || pending.contains(&r.urn.as_str()), "{} ({id}) is an orphan", r.urn);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    #[test]
    fn any_sequence_of_runs_leaves_a_sound_state(
        first in resources(),
        second in resources(),
        f1 in flake(),
        f2 in flake(),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let h = H::new();
            for (prog, flake) in [(first, f1), (second.clone(), f2)] {
                h.cloud.clear_faults();
                match flake {
                    Flake::None => {}
                    Flake::Fail(n) => h.cloud.fault_on_call(h.cloud.calls() + n, Fault::Fail),
                    Flake::Retry(n) => h.cloud.fault_on_call(h.cloud.calls() + n, Fault::Retriable(1)),
                    Flake::Panic(n) => h.cloud.fault_on_call(h.cloud.calls() + n, Fault::Panic),
                }
                let s = h.session(move |s| { declare(s, &prog); Ok(()) });
                let _ = s.preview(&opts()).await;
                let _ = s.up(&opts(), None, &mut |_, _| Ok(true)).await;
                check(&h).await;
            }
            // Converge without faults, then destroy: the cloud ends empty.
            h.cloud.clear_faults();
            let s = h.session(move |s| { declare(s, &second); Ok(()) });
            let a = s.up(&opts(), None, &mut |_, _| Ok(true)).await.expect("converges");
            assert!(a.report.failures.is_empty(), "{:?}", a.report.failures);
            check(&h).await;
            let d = destroy(&s).await;
            assert!(d.report.failures.is_empty(), "{:?}", d.report.failures);
            check(&h).await;
            assert!(h.cloud.inventory().is_empty());
        });
    }
}

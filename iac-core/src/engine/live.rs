//! Asking the providers, before anything changes, whether the cloud offers
//! what a plan creates or changes ([`Provider::check_live`]).

use std::collections::BTreeMap;

use super::Engine;
use crate::error::{Diagnostic, Result};
use crate::plan::{Op, Plan};
use crate::provider::LiveCheckRequest;

impl Engine {
    /// Each provider whose preflight passes is asked about the resources
    /// of the plan it creates, updates or replaces. A provider that cannot
    /// be reached (no credentials, say) is not asked; one whose answer
    /// fails is reported as a warning, since the offline checks still hold.
    pub async fn check_live(&self, plan: &Plan) -> Result<Vec<Diagnostic>> {
        let mut by_provider: BTreeMap<&str, Vec<LiveCheckRequest>> = BTreeMap::new();
        for step in plan.changes() {
            let (Some(inputs), Op::Create | Op::Update | Op::Replace) = (&step.new_inputs, step.op) else { continue };
            if step.provider.is_empty() {
                continue;
            }
            by_provider.entry(&step.provider).or_default().push(LiveCheckRequest {
                urn: step.urn.clone(),
                type_token: step.type_token.clone(),
                inputs: inputs.clone(),
            });
        }
        let mut found = Vec::new();
        for (name, reqs) in by_provider {
            if self.preflight([name]).await.is_err() {
                continue;
            }
            let provider = self.provider(name, &reqs[0].urn)?;
            match provider.check_live(reqs).await {
                Ok(diags) => found.extend(diags),
                Err(e) => (self.observer)(&super::Event::Warning {
                    message: format!(
                        "could not ask provider `{name}` what it offers ({e}); the plan is checked against the \
                         catalog only"
                    ),
                }),
            }
        }
        Ok(found)
    }
}

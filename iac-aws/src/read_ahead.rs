//! What a refresh reads ahead, before its batches, for the resources of
//! many types at once ([`Provider::read_ahead`]), dropped when they are done
//! ([`Provider::read_done`]).
//!
//! **Tags.** Most AWS services describe a resource without its tags, which
//! then cost a call per resource (`ListTagsForResource`). The provider asks
//! the Resource Groups Tagging API for the tags of every resource of the
//! types in [`INDEXED`], 100 ARNs per `GetResources` call, whatever their
//! service. Each type's read takes its tags from there and asks its own
//! service only for a resource the answer left out.
//!
//! The tagging API answers from an index that AWS keeps apart from the
//! services, so it can lag behind them. Its answers are therefore hints:
//! a read whose answer differs from what the state records is read again,
//! tags and all, from the service itself ([`AwsProvider::read_many`]), so a
//! refresh reports only drift the resource's own service confirms. A stale
//! hint that matches the record hides a change made in the moment before
//! the refresh, as a refresh run a moment earlier would have.
//!
//! **The contents of the stack's VPCs.** Route tables (with their routes
//! and associations) and security groups are read by four types and by the
//! VPC itself (its main table and default group); one describe of each by
//! the VPCs' ids answers them all (`ec2::read_vpcs_ahead`). A table or group
//! it does not show is asked for as before.
//!
//! **IAM role details.** Roles, their inline policies and their attachments
//! are all read from one account-wide listing
//! (`GetAccountAuthorizationDetails`); it is listed once, for the roles of
//! all three types, instead of once per type (`iam::read_roles_ahead`).
//!
//! [`Provider::read_ahead`]: iac_core::provider::Provider::read_ahead
//! [`Provider::read_done`]: iac_core::provider::Provider::read_done
//! [`AwsProvider::read_many`]: iac_core::provider::Provider::read_many

use std::collections::{BTreeMap, HashMap};
#[cfg(feature = "ec2")]
use std::sync::Arc;
use std::sync::Mutex;

use iac_core::provider::ReadRequest;

use crate::error::aws_err;
use crate::AwsProvider;

/// The types whose reads take their tags from the read-ahead: each has its
/// ARN in its outputs (or as its id) and answers tags under `tags`.
pub(crate) const INDEXED: &[&str] = &[
    "aws:cloudwatch:MetricAlarm",
    "aws:codepipeline:Pipeline",
    "aws:ecr:Repository",
    "aws:ecs:TaskDefinition",
    "aws:elasticache:ParameterGroup",
    "aws:elasticache:ReplicationGroup",
    "aws:elasticache:SubnetGroup",
    "aws:elbv2:LoadBalancer",
    "aws:elbv2:TargetGroup",
    "aws:elbv2:Listener",
    "aws:elbv2:ListenerRule",
    "aws:kinesis:Stream",
    "aws:kms:Key",
    "aws:logs:LogGroup",
    "aws:rds:DbClusterParameterGroup",
    "aws:rds:DbParameterGroup",
    "aws:rds:DbProxy",
    "aws:rds:DbSubnetGroup",
    "aws:s3:Bucket",
    "aws:sns:Topic",
];

/// The most ARNs one `GetResources` call takes.
const ARNS_PER_CALL: usize = 100;

/// What was read ahead for the refreshes under way (a provider shared by
/// two stacks may refresh both at once).
#[derive(Default)]
pub(crate) struct ReadAhead {
    inner: Mutex<Shared>,
}

#[derive(Default)]
struct Shared {
    refreshes: usize,
    /// Tags by ARN.
    tags: HashMap<String, BTreeMap<String, String>>,
    /// IAM role details by role name, and whether every role asked for that
    /// the listing did not show is known to be gone.
    #[cfg(feature = "iam")]
    roles: Option<(HashMap<String, aws_sdk_iam::types::RoleDetail>, bool)>,
    /// The route tables and security groups of the stack's VPCs.
    #[cfg(feature = "ec2")]
    vpcs: Option<Arc<crate::ec2::VpcContents>>,
}

tokio::task_local! {
    /// Set while a read confirms an answer: it must ask the service itself.
    static CONFIRMING: ();
}

/// The ARN a refresh reads `req` under, for the indexed types.
fn arn_of(req: &ReadRequest) -> Option<&str> {
    if !INDEXED.contains(&req.type_token) {
        return None;
    }
    match req.outputs.get("arn").as_str() {
        Some(arn) => Some(arn),
        None => Some(req.id.as_str()).filter(|id| id.starts_with("arn:")),
    }
}

impl AwsProvider {
    /// Reads ahead what `reqs` share, until [`AwsProvider::drop_read_ahead`].
    pub(crate) async fn read_ahead_of(&self, reqs: &[ReadRequest]) {
        self.read_ahead_data().inner.lock().unwrap().refreshes += 1;
        #[cfg(feature = "iam")]
        let roles = crate::iam::read_roles_ahead(self, reqs);
        #[cfg(not(feature = "iam"))]
        let roles = async { None::<()> };
        #[cfg(feature = "ec2")]
        let vpcs = crate::ec2::read_vpcs_ahead(self, reqs);
        #[cfg(not(feature = "ec2"))]
        let vpcs = async { None::<()> };
        let ((), roles, vpcs) = futures::future::join3(self.read_tags_ahead(reqs), roles, vpcs).await;
        #[cfg(any(feature = "iam", feature = "ec2"))]
        {
            let mut shared = self.read_ahead_data().inner.lock().unwrap();
            #[cfg(feature = "iam")]
            if roles.is_some() {
                shared.roles = roles;
            }
            #[cfg(feature = "ec2")]
            if let Some(vpcs) = vpcs {
                shared.vpcs = Some(Arc::new(vpcs));
            }
        }
        #[cfg(not(feature = "iam"))]
        let _ = roles;
        #[cfg(not(feature = "ec2"))]
        let _ = vpcs;
    }

    /// Reads the tags of `reqs` ahead, for [`AwsProvider::indexed_tags`]. A call that fails leaves its ARNs
    /// to their own services: the read-ahead only saves calls.
    pub(crate) async fn read_tags_ahead(&self, reqs: &[ReadRequest]) {
        let arns: Vec<String> = reqs.iter().filter_map(arn_of).map(str::to_owned).collect();
        let client = self.tagging().await;
        let calls = arns.chunks(ARNS_PER_CALL).map(|chunk| async move {
            let mut found = Vec::new();
            // With a list of ARNs, AWS answers them all at once; a token is
            // followed all the same, at most once per ARN.
            let mut token: Option<String> = None;
            for _ in 0..chunk.len() {
                let page = client
                    .get_resources()
                    .set_resource_arn_list(Some(chunk.to_vec()))
                    .set_pagination_token(token.take())
                    .send()
                    .await
                    .map_err(|e| aws_err("GetResources", e))?;
                for m in page.resource_tag_mapping_list() {
                    let Some(arn) = m.resource_arn() else { continue };
                    let tags = m.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
                    found.push((arn.to_owned(), tags));
                }
                token = page.pagination_token().filter(|t| !t.is_empty()).map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
            Ok::<_, iac_core::ProviderError>(found)
        });
        for answer in futures::future::join_all(calls).await {
            match answer {
                Ok(found) => self.read_ahead_data().inner.lock().unwrap().tags.extend(found),
                Err(e) => tracing::debug!("tags not read ahead, each service is asked instead: {e}"),
            }
        }
    }

    /// Ends a refresh's use of the read-ahead; the last one drops it.
    pub(crate) fn drop_read_ahead(&self) {
        let mut shared = self.read_ahead_data().inner.lock().unwrap();
        shared.refreshes = shared.refreshes.saturating_sub(1);
        if shared.refreshes == 0 {
            shared.tags.clear();
            #[cfg(feature = "iam")]
            {
                shared.roles = None;
            }
            #[cfg(feature = "ec2")]
            {
                shared.vpcs = None;
            }
        }
    }

    /// The route tables and security groups read ahead of the stack's VPCs,
    /// if a refresh read them and this read is not confirming an answer.
    #[cfg(feature = "ec2")]
    pub(crate) fn vpcs_read_ahead(&self) -> Option<Arc<crate::ec2::VpcContents>> {
        if CONFIRMING.try_with(|_| ()).is_ok() {
            return None;
        }
        self.read_ahead_data().inner.lock().unwrap().vpcs.clone()
    }

    /// The details read ahead of the roles `wanted`, if every one of them
    /// is settled by them (found, or known gone), and this read is not
    /// confirming an answer.
    #[cfg(feature = "iam")]
    pub(crate) fn roles_read_ahead(
        &self,
        wanted: &std::collections::HashSet<String>,
    ) -> Option<HashMap<String, aws_sdk_iam::types::RoleDetail>> {
        if CONFIRMING.try_with(|_| ()).is_ok() {
            return None;
        }
        let shared = self.read_ahead_data().inner.lock().unwrap();
        let (found, complete) = shared.roles.as_ref()?;
        let mine: HashMap<_, _> =
            found.iter().filter(|(name, _)| wanted.contains(*name)).map(|(k, v)| (k.clone(), v.clone())).collect();
        (*complete || mine.len() == wanted.len()).then_some(mine)
    }

    /// The tags read ahead for `arn`, if a refresh read them and this read
    /// is not confirming an answer.
    // Used by the handlers of the indexed types, which a build with few
    // services may leave out.
    #[allow(dead_code)]
    pub(crate) fn indexed_tags(&self, arn: &str) -> Option<BTreeMap<String, String>> {
        if CONFIRMING.try_with(|_| ()).is_ok() {
            return None;
        }
        self.read_ahead_data().inner.lock().unwrap().tags.get(arn).cloned()
    }

    /// The tags a refresh read ahead for `arn`, else what `ask` (the
    /// resource's own service) answers.
    // Used by the handlers of the indexed types, which a build with few
    // services may leave out.
    #[allow(dead_code)]
    pub(crate) async fn tags_or_ask(
        &self,
        arn: &str,
        ask: impl std::future::Future<Output = Result<BTreeMap<String, String>, iac_core::ProviderError>>,
    ) -> Result<BTreeMap<String, String>, iac_core::ProviderError> {
        match self.indexed_tags(arn) {
            Some(tags) => Ok(tags),
            None => ask.await,
        }
    }

    /// Whether tags read ahead may have shaped reads of `type_token`.
    pub(crate) fn tags_read_ahead(&self, type_token: &str) -> bool {
        INDEXED.contains(&type_token) && !self.read_ahead_data().inner.lock().unwrap().tags.is_empty()
    }
}

/// Runs `read` asking every service itself, never the read-ahead.
pub(crate) async fn confirming<F: std::future::Future>(read: F) -> F::Output {
    CONFIRMING.scope((), read).await
}

#[cfg(all(
    test,
    feature = "cloudwatch",
    feature = "codepipeline",
    feature = "ecs",
    feature = "kinesis",
    feature = "ecr",
    feature = "elasticache",
    feature = "elbv2",
    feature = "kms",
    feature = "logs",
    feature = "rds",
    feature = "s3",
    feature = "sns"
))]
mod tests {
    use super::INDEXED;

    /// A misspelt type token would silently read nothing ahead.
    #[test]
    fn every_indexed_type_is_a_type() {
        for t in INDEXED {
            assert!(crate::handler::handler_for(t).is_some(), "{t} is no resource type");
        }
    }
}

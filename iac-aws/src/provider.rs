//! The AWS provider: configuration through `aws-config`'s default chain,
//! one lazily created client per service, and dispatch of engine calls to
//! the resource type's handler.

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use iac_core::provider::*;
use iac_core::Diagnostic;
use tokio::sync::OnceCell;

use crate::handler::handler_for;
use crate::read_ahead::{confirming, ReadAhead};

/// Where an explicit provider instance points: another region, profile or
/// assumed role. Unset fields come from the environment's default chain.
#[derive(Clone, Debug, Default)]
pub struct AwsSettings {
    /// Region (else `AWS_REGION` / the profile's region).
    pub region: Option<String>,
    /// Named profile (else `AWS_PROFILE` / `default`).
    pub profile: Option<String>,
    /// A role to assume on top of the base credentials.
    pub assume_role_arn: Option<String>,
    /// An endpoint for every service (else `AWS_ENDPOINT_URL`, or the
    /// per-service `AWS_ENDPOINT_URL_<SERVICE>`).
    pub endpoint_url: Option<String>,
}

/// Declares the per-service client cells and their accessors. S3's accessor is written out below (path-style
/// addressing against an emulator).
macro_rules! clients {
    ($(($feature:literal, $name:ident, $krate:ident)),* $(,)?) => {
        #[derive(Default)]
        struct Clients {
            $(#[cfg(feature = $feature)] $name: OnceCell<$krate::Client>,)*
        }

        impl AwsProvider {
            $(
                #[cfg(feature = $feature)]
                #[doc = concat!("The `", stringify!($krate), "` client, created on first use.")]
                pub async fn $name(&self) -> &$krate::Client {
                    self.inner.clients.$name.get_or_init(|| async { $krate::Client::new(self.sdk().await) }).await
                }
            )*
        }
    };
}

clients!(
    ("ec2", ec2, aws_sdk_ec2),
    ("ecs", ecs, aws_sdk_ecs),
    ("eks", eks, aws_sdk_eks),
    ("iam", iam, aws_sdk_iam),
    ("rds", rds, aws_sdk_rds),
    ("kms", kms, aws_sdk_kms),
    ("logs", logs, aws_sdk_cloudwatchlogs),
    ("cloudwatch", cloudwatch, aws_sdk_cloudwatch),
    ("ecr", ecr, aws_sdk_ecr),
    ("sns", sns, aws_sdk_sns),
    ("secretsmanager", secretsmanager, aws_sdk_secretsmanager),
    ("kinesis", kinesis, aws_sdk_kinesis),
    ("elbv2", elbv2, aws_sdk_elasticloadbalancingv2),
    ("elasticache", elasticache, aws_sdk_elasticache),
    ("msk", kafka, aws_sdk_kafka),
    ("autoscaling", autoscaling, aws_sdk_applicationautoscaling),
    ("codebuild", codebuild, aws_sdk_codebuild),
    ("codepipeline", codepipeline, aws_sdk_codepipeline),
    ("lambda", lambda, aws_sdk_lambda),
    ("eventbridge", eventbridge, aws_sdk_eventbridge),
    ("apigateway", apigateway, aws_sdk_apigateway),
    ("stepfunctions", sfn, aws_sdk_sfn),
    ("batch", batch, aws_sdk_batch),
    ("appconfig", appconfig, aws_sdk_appconfig),
    ("codedeploy", codedeploy, aws_sdk_codedeploy),
    ("opensearchserverless", opensearchserverless, aws_sdk_opensearchserverless),
    ("bedrock", bedrockagent, aws_sdk_bedrockagent),
);

struct Inner {
    settings: AwsSettings,
    sdk: OnceCell<SdkConfig>,
    clients: Clients,
    #[cfg(feature = "s3")]
    s3: OnceCell<aws_sdk_s3::Client>,
    #[cfg(any(feature = "apigateway", feature = "appconfig", feature = "codedeploy"))]
    account_id: OnceCell<String>,
    #[cfg(feature = "timestream")]
    timestream: OnceCell<aws_sdk_timestreamwrite::Client>,
    tagging: OnceCell<aws_sdk_resourcegroupstagging::Client>,
    read_ahead: ReadAhead,
}

/// An AWS account and region to manage resources in. Cheap to clone.
///
/// ```no_run
/// use iac_aws::{AwsProvider, AwsSettings};
/// fn providers(stack: &iac_core::Stack) {
///     // The default provider, from the environment:
///     stack.provider("aws", AwsProvider::from_env());
///     // Another region, for replication targets:
///     let west = stack.provider("aws-west", AwsProvider::new(AwsSettings {
///         region: Some("us-west-2".into()),
///         ..Default::default()
///     }));
///     # let _ = west;
/// }
/// ```
#[derive(Clone)]
pub struct AwsProvider {
    inner: Arc<Inner>,
}

impl AwsProvider {
    /// The provider the environment describes.
    pub fn from_env() -> AwsProvider {
        AwsProvider::new(AwsSettings::default())
    }

    /// The settings it was made with.
    pub fn settings(&self) -> &AwsSettings {
        &self.inner.settings
    }

    /// A provider with explicit settings.
    pub fn new(settings: AwsSettings) -> AwsProvider {
        AwsProvider {
            inner: Arc::new(Inner {
                settings,
                sdk: OnceCell::new(),
                clients: Clients::default(),
                #[cfg(feature = "s3")]
                s3: OnceCell::new(),
                #[cfg(any(feature = "apigateway", feature = "appconfig", feature = "codedeploy"))]
                account_id: OnceCell::new(),
                #[cfg(feature = "timestream")]
                timestream: OnceCell::new(),
                tagging: OnceCell::new(),
                read_ahead: ReadAhead::default(),
            }),
        }
    }

    /// The shared SDK configuration, loaded on first use.
    pub async fn sdk(&self) -> &SdkConfig {
        self.inner
            .sdk
            .get_or_init(|| async {
                let s = &self.inner.settings;
                let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https_client());
                if let Some(r) = &s.region {
                    loader = loader.region(aws_config::Region::new(r.clone()));
                }
                if let Some(p) = &s.profile {
                    loader = loader.profile_name(p);
                }
                if let Some(e) = &s.endpoint_url {
                    loader = loader.endpoint_url(e);
                }
                let base = loader.load().await;
                match &s.assume_role_arn {
                    None => base,
                    Some(arn) => {
                        let role = aws_config::sts::AssumeRoleProvider::builder(arn)
                            .session_name("iac")
                            .configure(&base)
                            .build()
                            .await;
                        base.into_builder()
                            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(role))
                            .build()
                    }
                }
            })
            .await
    }

    /// Whether a custom endpoint is configured for `service` (an emulator).
    fn custom_endpoint(&self, service_env: &str) -> bool {
        self.inner.settings.endpoint_url.is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os(format!("AWS_ENDPOINT_URL_{service_env}")).is_some()
    }
}

impl AwsProvider {
    /// The S3 client, created on first use. Against a custom endpoint (an
    /// emulator on loopback) buckets are addressed by path, since bucket
    /// subdomains of `127.0.0.1` do not resolve.
    #[cfg(feature = "s3")]
    pub async fn s3(&self) -> &aws_sdk_s3::Client {
        self.inner
            .s3
            .get_or_init(|| async {
                let conf = aws_sdk_s3::config::Builder::from(self.sdk().await)
                    .force_path_style(self.custom_endpoint("S3"))
                    .build();
                aws_sdk_s3::Client::from_conf(conf)
            })
            .await
    }

    /// The account the credentials belong to (STS `GetCallerIdentity`,
    /// asked once), for ARNs AWS does not return, like an API's execute-api
    /// ARN or an AppConfig application's.
    #[cfg(any(feature = "apigateway", feature = "appconfig", feature = "codedeploy"))]
    pub async fn account_id(&self) -> Result<String, ProviderError> {
        self.inner
            .account_id
            .get_or_try_init(|| async {
                let me = aws_sdk_sts::Client::new(self.sdk().await)
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| crate::error::aws_err("GetCallerIdentity", e))?;
                me.account.ok_or_else(|| ProviderError::fatal("GetCallerIdentity", "no account in the answer"))
            })
            .await
            .cloned()
    }

    /// The Timestream Write client, created on first use.
    ///
    /// Timestream serves its API from per-account cell endpoints that the
    /// client discovers (`DescribeEndpoints`) and refreshes in the
    /// background. Against a custom endpoint (an emulator, through
    /// `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_TIMESTREAM_WRITE` or the
    /// provider's `endpoint_url`) discovery is skipped and that endpoint is
    /// used as it is: discovery would answer AWS's own host names.
    #[cfg(feature = "timestream")]
    pub async fn timestream(&self) -> Result<&aws_sdk_timestreamwrite::Client, ProviderError> {
        self.inner
            .timestream
            .get_or_try_init(|| async {
                let sdk = self.sdk().await;
                let client = aws_sdk_timestreamwrite::Client::new(sdk);
                if sdk.endpoint_url().is_some() || self.custom_endpoint("TIMESTREAM_WRITE") {
                    return Ok(client);
                }
                let (client, reload) = client.with_endpoint_discovery_enabled().await.map_err(|e| {
                    ProviderError::retriable(
                        "DescribeEndpoints",
                        format!(
                            "Timestream endpoint discovery failed: {}",
                            aws_smithy_types::error::display::DisplayErrorContext(&*e)
                        ),
                    )
                })?;
                // Refreshes the discovered endpoint when it expires; ends when
                // the client is dropped.
                tokio::spawn(reload.reload_task());
                Ok(client)
            })
            .await
    }

    /// The prefix of ARNs of `service` in this account and region
    /// (`arn:aws:appconfig:us-east-1:123456789012`), for the services that
    /// return ids but take ARNs for tagging.
    #[cfg(any(feature = "appconfig", feature = "codedeploy"))]
    pub async fn arn_prefix(&self, service: &str) -> Result<String, ProviderError> {
        let account = self.account_id().await?;
        let region = self.region().await.unwrap_or_default();
        let partition = if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        Ok(format!("arn:{partition}:{service}:{region}:{account}"))
    }

    /// The Resource Groups Tagging API client, created on first use: it
    /// answers the tags of many resources of any service at once.
    pub async fn tagging(&self) -> &aws_sdk_resourcegroupstagging::Client {
        self.inner.tagging.get_or_init(|| async { aws_sdk_resourcegroupstagging::Client::new(self.sdk().await) }).await
    }

    /// What was read ahead for the refreshes under way.
    pub(crate) fn read_ahead_data(&self) -> &ReadAhead {
        &self.inner.read_ahead
    }

    /// The region in use, once configured.
    pub async fn region(&self) -> Option<String> {
        self.sdk().await.region().map(|r| r.to_string())
    }
}

fn unsupported(type_token: &str) -> ProviderError {
    ProviderError::fatal(
        "dispatch",
        format!("resource type `{type_token}` is not compiled into this build of iac-aws (enable its cargo feature)"),
    )
}

#[async_trait]
impl Provider for AwsProvider {
    async fn preflight(&self) -> Result<(), ProviderError> {
        let sdk = self.sdk().await;
        if sdk.region().is_none() {
            return Err(ProviderError::fatal(
                "configure",
                "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or a region in your AWS profile",
            ));
        }
        let creds = sdk
            .credentials_provider()
            .ok_or_else(|| ProviderError::fatal("configure", "no AWS credentials provider is configured"))?;
        creds.provide_credentials().await.map_err(|e| {
            ProviderError::fatal(
                "configure",
                format!(
                    "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE \
                     (profiles, SSO and instance roles work too): {e}"
                ),
            )
        })?;
        Ok(())
    }

    async fn create(&self, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        handler_for(req.type_token).ok_or_else(|| unsupported(req.type_token))?.create(self, req).await
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        handler_for(req.type_token).ok_or_else(|| unsupported(req.type_token))?.read(self, req).await
    }

    async fn read_many(&self, reqs: Vec<ReadRequest>) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        // The engine batches by type; a mixed batch is read type by type.
        let mut by_type: Vec<(&'static str, Vec<usize>)> = Vec::new();
        for (i, r) in reqs.iter().enumerate() {
            match by_type.iter_mut().find(|(t, _)| *t == r.type_token) {
                Some((_, ix)) => ix.push(i),
                None => by_type.push((r.type_token, vec![i])),
            }
        }
        let mut slots: Vec<Option<ReadRequest>> = reqs.into_iter().map(Some).collect();
        let mut answers: Vec<Option<ReadResult>> = vec![None; slots.len()];
        for (type_token, ix) in by_type {
            let handler = handler_for(type_token).ok_or_else(|| unsupported(type_token))?;
            let batch: Vec<ReadRequest> = ix.iter().filter_map(|&i| slots[i].take()).collect();
            let hinted = self.tags_read_ahead(type_token).then(|| batch.clone());
            let mut read = handler.read_many(self, batch).await?;
            if read.len() != ix.len() {
                return Err(ProviderError::fatal(
                    "read",
                    format!("{type_token}: answered {} of {} reads", read.len(), ix.len()),
                ));
            }
            // Tags read ahead are hints: an answer that differs from the
            // record is read again from the resource's own service.
            if let Some(asked) = hinted {
                let differs = |(req, r): &(ReadRequest, &mut Option<ReadResult>)| {
                    r.as_ref().is_some_and(|r| r.inputs != req.inputs || r.outputs != req.outputs)
                };
                let again = asked.into_iter().zip(read.iter_mut()).filter(differs);
                futures::future::try_join_all(again.map(|(req, r)| async move {
                    *r = confirming(handler.read(self, req)).await?;
                    Ok::<_, ProviderError>(())
                }))
                .await?;
            }
            for (i, r) in ix.into_iter().zip(read) {
                answers[i] = r;
            }
        }
        Ok(answers)
    }

    async fn read_ahead(&self, reqs: &[ReadRequest]) {
        self.read_ahead_of(reqs).await
    }

    fn read_done(&self) {
        self.drop_read_ahead()
    }

    async fn check_live(&self, reqs: Vec<LiveCheckRequest>) -> Result<Vec<Diagnostic>, ProviderError> {
        crate::catalog::live::check(self, reqs).await
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        handler_for(req.type_token).ok_or_else(|| unsupported(req.type_token))?.update(self, req).await
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        handler_for(req.type_token).ok_or_else(|| unsupported(req.type_token))?.delete(self, req).await
    }

    async fn find(&self, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        handler_for(req.type_token).ok_or_else(|| unsupported(req.type_token))?.find(self, req).await
    }
}

/// The SDKs' HTTPS client: rustls over ring, with the platform's trust
/// roots. The SDKs' default is rustls over aws-lc, whose C build is the
/// longest single step of a clean build (see docs/performance.md).
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

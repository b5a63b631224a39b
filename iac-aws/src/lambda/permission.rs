//! `Permission`: a statement of a function's resource policy letting a
//! service (S3, EventBridge, API Gateway, SNS) or an account invoke it —
//! the unqualified function's policy, or an alias's or version's own.

use async_trait::async_trait;
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};

use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{map, opt_expr, unless_known, In};

pub(crate) const TYPE: &str = "aws:lambda:Permission";

/// Schema: AWS cannot change a statement, so every input replaces it
/// (removed first: the statement id is unique in the policy).
pub static SCHEMA: Schema = Schema {
    replace_on: &["function", "qualifier", "statementId", "action", "principal", "sourceArn", "sourceAccount"],
    delete_before_replace: true,
    ..Schema::new(TYPE, "aws")
};

/// Who may invoke a function.
///
/// ```
/// use iac_aws::lambda::Permission;
/// let from_bucket = Permission::builder()
///     .function("ingest")
///     .statement_id("s3-landing")
///     .principal("s3.amazonaws.com")
///     .source_arn("arn:aws:s3:::landing-zone")
///     .source_account("123456789012")
///     .build();
/// // API Gateway invoking the `live` alias (what its integration names).
/// let from_api = Permission::builder()
///     .function("orders")
///     .qualifier("live")
///     .statement_id("api-gateway")
///     .principal("apigateway.amazonaws.com")
///     .source_arn("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/*")
///     .build();
/// # let _ = (from_bucket, from_api);
/// ```
#[derive(bon::Builder)]
pub struct Permission {
    /// The function (name or ARN).
    #[builder(into)]
    pub function: Input<String>,
    /// An alias or version whose own policy takes the statement (callers
    /// invoking `function:<qualifier>` are checked against it, not the
    /// unqualified function's policy). Unset: the unqualified function.
    #[builder(into)]
    pub qualifier: Option<String>,
    /// The statement's id, unique in the function's policy.
    #[builder(into)]
    pub statement_id: String,
    /// The action (`lambda:InvokeFunction`).
    #[builder(into, default = "lambda:InvokeFunction")]
    pub action: String,
    /// A service principal (`s3.amazonaws.com`) or an account id.
    #[builder(into)]
    pub principal: String,
    /// Only this resource (a bucket, a rule, an API) may invoke.
    #[builder(into)]
    pub source_arn: Option<Input<String>>,
    /// Only resources of this account may invoke (guards against a bucket
    /// of the same name elsewhere).
    #[builder(into)]
    pub source_account: Option<String>,
}

/// Outputs of a [`Permission`].
pub struct PermissionOutputs {
    /// `<function>/<statement id>` (the resource's id).
    pub id: Output<String>,
}

impl Resource for Permission {
    type Outputs = PermissionOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("function", self.function.to_expr()),
            ("qualifier", Value::from(self.qualifier.clone()).into()),
            ("statementId", Value::from(self.statement_id.as_str()).into()),
            ("action", Value::from(self.action.as_str()).into()),
            ("principal", Value::from(self.principal.as_str()).into()),
            ("sourceArn", opt_expr(self.source_arn.as_ref())),
            ("sourceAccount", Value::from(self.source_account.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> PermissionOutputs {
        PermissionOutputs { id: Output::from_ref(urn, "id") }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "statementId",
            &self.statement_id,
            100,
            |ch| ch.is_ascii_alphanumeric() || "-_".contains(ch),
            "letters, digits, hyphens and underscores",
        );
        c.check(self.action.starts_with("lambda:"), "action", || {
            format!("`{}` is not a Lambda action (like lambda:InvokeFunction)", self.action)
        });
        let p = &self.principal;
        let account = p.len() == 12 && p.chars().all(|ch| ch.is_ascii_digit());
        c.check(
            account || p.ends_with(".amazonaws.com") || p.starts_with("arn:aws:iam::") || p == "*",
            "principal",
            || format!("`{p}` is neither a service principal (like s3.amazonaws.com), an account id nor a role ARN"),
        );
        if let Some(q) = &self.qualifier {
            let ok = !q.is_empty()
                && q.len() <= 128
                && (q == "$LATEST" || q.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_".contains(ch)));
            c.check(ok, "qualifier", || {
                format!("`{q}` is not an alias or version (1–128 letters, digits, hyphens and underscores)")
            });
        }
        if let Some(a) = &self.source_account {
            c.check(a.len() == 12 && a.chars().all(|ch| ch.is_ascii_digit()), "sourceAccount", || {
                format!("`{a}` is not a 12-digit account id")
            });
        }
    }
}

/// The statement's inputs as the policy of the function (or of its alias
/// or version `qualifier`) holds them.
async fn describe(
    p: &AwsProvider,
    function: &str,
    qualifier: Option<&str>,
    sid: &str,
) -> Result<Option<Value>, ProviderError> {
    let got = p.lambda().await.get_policy().function_name(function).set_qualifier(qualifier.map(str::to_owned)).send();
    let policy = match got.await {
        Ok(o) => o.policy.unwrap_or_default(),
        Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws_err("GetPolicy", e)),
    };
    let doc: serde_json::Value = serde_json::from_str(&policy)
        .map_err(|e| ProviderError::fatal("GetPolicy", format!("the policy is not JSON: {e}")))?;
    let Some(st) = doc["Statement"].as_array().and_then(|s| s.iter().find(|s| s["Sid"] == sid)) else {
        return Ok(None);
    };
    let principal = match &st["Principal"] {
        serde_json::Value::String(s) => s.clone(),
        p => p["Service"].as_str().or_else(|| p["AWS"].as_str()).unwrap_or_default().to_owned(),
    };
    // AWS writes an account principal as its root ARN.
    let principal = principal
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.strip_suffix(":root"))
        .map_or(principal.clone(), str::to_owned);
    let cond = &st["Condition"];
    Ok(Some(map([
        ("function", Value::from(function)),
        ("qualifier", Value::from(qualifier)),
        ("statementId", Value::from(sid)),
        ("action", Value::from(st["Action"].as_str())),
        ("principal", Value::from(principal)),
        ("sourceArn", Value::from(cond["ArnLike"]["AWS:SourceArn"].as_str())),
        ("sourceAccount", Value::from(cond["StringEquals"]["AWS:SourceAccount"].as_str())),
    ])))
}

/// The resource's id: `<function>/<statement id>`, or
/// `<function>/<qualifier>/<statement id>` on an alias's or version's
/// policy (neither a function name or ARN nor a qualifier holds a `/`).
fn statement_id(function: &str, qualifier: Option<&str>, sid: &str) -> String {
    match qualifier {
        Some(q) => format!("{function}/{q}/{sid}"),
        None => format!("{function}/{sid}"),
    }
}

/// The function, the qualifier if any, and the statement id of an id.
fn split_id(id: &str) -> (&str, Option<&str>, &str) {
    let (rest, sid) = id.rsplit_once('/').unwrap_or((id, ""));
    match rest.split_once('/') {
        Some((function, qualifier)) => (function, Some(qualifier), sid),
        None => (rest, None, sid),
    }
}

pub(crate) struct PermissionHandler;

#[async_trait]
impl Handler for PermissionHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "AddPermission");
        let (function, sid) = (i.str("function")?, i.str("statementId")?);
        let qualifier = i.opt_str("qualifier");
        match p
            .lambda()
            .await
            .add_permission()
            .function_name(function)
            .set_qualifier(qualifier.map(str::to_owned))
            .statement_id(sid)
            .action(i.str("action")?)
            .principal(i.str("principal")?)
            .set_source_arn(i.opt_str("sourceArn").map(str::to_owned))
            .set_source_account(i.opt_str("sourceAccount").map(str::to_owned))
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_code(&e, &["ResourceConflictException"]) => {
                // A create retried after a crash finds its own statement:
                // the same id granting the same thing is success.
                let same = describe(p, function, qualifier, sid).await?.is_some_and(|have| {
                    ["action", "principal", "sourceArn", "sourceAccount"]
                        .iter()
                        .all(|k| have.get(k).as_str() == req.inputs.get(k).as_str())
                });
                if !same {
                    return Err(aws_err("AddPermission", e));
                }
            }
            Err(e) => return Err(aws_err("AddPermission", e)),
        }
        Ok(CreateResult { id: statement_id(function, qualifier, sid), outputs: Value::map() })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let (function, qualifier, sid) = split_id(&req.id);
        Ok(describe(p, function, qualifier, sid).await?.map(|inputs| ReadResult {
            id: req.id.clone(),
            inputs,
            outputs: Value::map(),
        }))
    }

    async fn update(&self, _p: &AwsProvider, _req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        // Every input replaces; nothing is left to change in place.
        Ok(UpdateResult { outputs: Value::map() })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let (function, qualifier, sid) = split_id(&req.id);
        let removed = p
            .lambda()
            .await
            .remove_permission()
            .function_name(function)
            .set_qualifier(qualifier.map(str::to_owned))
            .statement_id(sid)
            .send();
        match removed.await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => Ok(()),
            Err(e) => Err(aws_err("RemovePermission", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Statements take no tags; the statement id is unique in the policy
        // and AddPermission refuses a second one.
        let i = In::new(&req.inputs, "");
        let (Some(function), Some(sid)) = (i.opt_str("function"), i.opt_str("statementId")) else { return Ok(None) };
        let qualifier = i.opt_str("qualifier");
        let found = describe(p, function, qualifier, sid).await?.map(|inputs| ReadResult {
            id: statement_id(function, qualifier, sid),
            inputs,
            outputs: Value::map(),
        });
        Ok(unless_known(&req, found))
    }
}

//! What a listener or rule does with a request: forward it to a target
//! group, answer it directly, or redirect it. One input shape each (what the
//! program declares and what `read` maps AWS's answer onto).

use aws_sdk_elasticloadbalancingv2::types::{
    Action as SdkAction, ActionTypeEnum, FixedResponseActionConfig, RedirectActionConfig, RedirectActionStatusCodeEnum,
};
use iac_core::{props, Checks, Expr, Input, ProviderError, Value};
use serde::Deserialize;

use super::TargetGroupArn;
use crate::util::map;

/// What to do with a matching request.
///
/// ```
/// use iac_aws::elbv2::{Action, Redirect, RedirectStatus};
/// let to_https = Action::redirect_to_https();
/// let missing = Action::fixed_response(404, "not found");
/// let moved = Action::Redirect(
///     Redirect::builder().host("www.example.com").status(RedirectStatus::Found).build(),
/// );
/// # let _ = (to_https, missing, moved);
/// ```
#[derive(Clone, Debug)]
pub enum Action {
    /// Forward to a target group (a [`TargetGroup`](super::TargetGroup)'s `id`).
    Forward(Input<TargetGroupArn>),
    /// Answer with a fixed response.
    FixedResponse(FixedResponse),
    /// Redirect the client.
    Redirect(Redirect),
}

impl Action {
    /// Forward to a target group.
    pub fn forward(target_group: impl Into<Input<TargetGroupArn>>) -> Action {
        Action::Forward(target_group.into())
    }

    /// Answer with `status` and a plain-text `body`.
    pub fn fixed_response(status: u16, body: impl Into<String>) -> Action {
        let body = body.into();
        let body = (!body.is_empty()).then_some(body);
        Action::FixedResponse(FixedResponse::builder().status_code(status).maybe_message_body(body).build())
    }

    /// Redirect to the same URL over HTTPS on port 443, permanently.
    pub fn redirect_to_https() -> Action {
        Action::Redirect(Redirect::builder().protocol("HTTPS").port("443").build())
    }

    pub(crate) fn to_expr(&self) -> Expr {
        match self {
            Action::Forward(tg) => props([("type", Value::from("forward").into()), ("targetGroupArn", tg.to_expr())]),
            Action::FixedResponse(f) => Expr::Value(map([
                ("type", Value::from("fixed-response")),
                ("statusCode", Value::from(f.status_code.to_string())),
                ("contentType", Value::from(f.content_type.as_str())),
                // AWS reports an empty body as none.
                ("messageBody", Value::from(f.message_body.clone().filter(|b| !b.is_empty()))),
            ])),
            Action::Redirect(r) => Expr::Value(map([
                ("type", Value::from("redirect")),
                ("protocol", Value::from(r.protocol.as_str())),
                ("port", Value::from(r.port.as_str())),
                ("host", Value::from(r.host.as_str())),
                ("path", Value::from(r.path.as_str())),
                ("query", Value::from(r.query.as_str())),
                ("statusCode", Value::from(r.status.as_str())),
            ])),
        }
    }

    /// Reports what AWS would refuse, on `field`.
    pub(crate) fn validate(&self, c: &mut Checks, field: &str) {
        match self {
            Action::Forward(_) => {}
            Action::FixedResponse(f) => {
                let s = f.status_code;
                c.check((200..600).contains(&s) && s / 100 != 3, field, || {
                    format!("fixed response status {s}: a 2XX, 4XX or 5XX code")
                });
                c.check(CONTENT_TYPES.contains(&f.content_type.as_str()), field, || {
                    format!("content type `{}` is not one of {}", f.content_type, CONTENT_TYPES.join(", "))
                });
                if let Some(body) = &f.message_body {
                    c.check(body.len() <= 1024, field, || {
                        format!("the message body is {} bytes; the limit is 1024", body.len())
                    });
                }
            }
            Action::Redirect(r) => {
                c.check(["HTTP", "HTTPS", "#{protocol}"].contains(&r.protocol.as_str()), field, || {
                    format!("redirect protocol `{}`: HTTP, HTTPS or #{{protocol}}", r.protocol)
                });
                c.check(r.port == "#{port}" || r.port.parse::<u16>().is_ok_and(|p| p >= 1), field, || {
                    format!("redirect port `{}`: 1 to 65535 or #{{port}}", r.port)
                });
                c.check(!r.host.is_empty() && r.host.len() <= 128, field, || {
                    format!("redirect host `{}`: 1 to 128 characters", r.host)
                });
                c.check(r.path.starts_with('/') && r.path.len() <= 128, field, || {
                    format!("redirect path `{}`: starts with / and is at most 128 characters", r.path)
                });
                c.check(!r.query.starts_with('?') && r.query.len() <= 128, field, || {
                    format!("redirect query `{}`: at most 128 characters, without the leading ?", r.query)
                });
                let loop_ = r.protocol == "#{protocol}"
                    && r.port == "#{port}"
                    && r.host == "#{host}"
                    && r.path == "/#{path}"
                    && r.query == "#{query}";
                c.check(!loop_, field, || "the redirect changes nothing, so it would redirect to itself".into());
            }
        }
    }
}

/// The content types a fixed response may declare.
const CONTENT_TYPES: &[&str] = &["text/plain", "text/css", "text/html", "application/javascript", "application/json"];

/// A response the load balancer sends itself.
#[derive(Clone, Debug, PartialEq, Eq, bon::Builder)]
pub struct FixedResponse {
    /// The HTTP status (2XX, 4XX or 5XX).
    pub status_code: u16,
    /// Its content type (`text/plain`, `text/css`, `text/html`,
    /// `application/javascript` or `application/json`).
    #[builder(into, default = "text/plain")]
    pub content_type: String,
    /// The body (up to 1024 bytes).
    #[builder(into)]
    pub message_body: Option<String>,
}

/// A redirect. Every part defaults to the request's own (`#{protocol}`,
/// `#{port}`, `#{host}`, `/#{path}`, `#{query}`), as in AWS; at least one
/// must differ.
#[derive(Clone, Debug, PartialEq, Eq, bon::Builder)]
pub struct Redirect {
    /// `HTTP`, `HTTPS` or `#{protocol}`.
    #[builder(into, default = "#{protocol}")]
    pub protocol: String,
    /// A port or `#{port}`.
    #[builder(into, default = "#{port}")]
    pub port: String,
    /// A host name (may use `#{host}`).
    #[builder(into, default = "#{host}")]
    pub host: String,
    /// An absolute path (may use `#{path}`).
    #[builder(into, default = "/#{path}")]
    pub path: String,
    /// A query string without the `?` (may use `#{query}`).
    #[builder(into, default = "#{query}")]
    pub query: String,
    /// Permanent (301) or temporary (302).
    #[builder(default)]
    pub status: RedirectStatus,
}

/// A redirect's HTTP status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RedirectStatus {
    /// 301 Moved Permanently.
    #[default]
    Permanent,
    /// 302 Found.
    Found,
}

impl RedirectStatus {
    fn as_str(self) -> &'static str {
        match self {
            RedirectStatus::Permanent => "HTTP_301",
            RedirectStatus::Found => "HTTP_302",
        }
    }
}

/// An action's input, as the handler reads it.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum ActionSpec {
    #[serde(rename_all = "camelCase")]
    Forward { target_group_arn: String },
    #[serde(rename_all = "camelCase")]
    FixedResponse { status_code: String, content_type: Option<String>, message_body: Option<String> },
    #[serde(rename_all = "camelCase")]
    Redirect { protocol: String, port: String, host: String, path: String, query: String, status_code: String },
}

/// The SDK action for an input action.
pub(crate) fn to_sdk(op: &str, field: &str, v: Option<serde_json::Value>) -> Result<SdkAction, ProviderError> {
    let v = v.ok_or_else(|| ProviderError::fatal(op, format!("input `{field}` is missing")))?;
    let spec: ActionSpec =
        serde_json::from_value(v).map_err(|e| ProviderError::fatal(op, format!("input `{field}`: {e}")))?;
    Ok(match spec {
        ActionSpec::Forward { target_group_arn } => {
            SdkAction::builder().r#type(ActionTypeEnum::Forward).target_group_arn(target_group_arn).build()
        }
        ActionSpec::FixedResponse { status_code, content_type, message_body } => SdkAction::builder()
            .r#type(ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                FixedResponseActionConfig::builder()
                    .status_code(status_code)
                    .set_content_type(content_type)
                    .set_message_body(message_body)
                    .build(),
            )
            .build(),
        ActionSpec::Redirect { protocol, port, host, path, query, status_code } => SdkAction::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(
                RedirectActionConfig::builder()
                    .protocol(protocol)
                    .port(port)
                    .host(host)
                    .path(path)
                    .query(query)
                    .status_code(RedirectActionStatusCodeEnum::from(status_code.as_str()))
                    .build(),
            )
            .build(),
    })
}

/// An action as AWS describes it, in the input shape. Actions this crate
/// does not declare (authentication) read back by type only, which shows
/// as a change.
pub(crate) fn from_sdk(a: &SdkAction) -> Value {
    match a.r#type() {
        Some(ActionTypeEnum::Forward) => {
            // AWS reports a single target group both ways; either will do.
            let tg = a.target_group_arn().or_else(|| {
                a.forward_config().and_then(|f| match f.target_groups() {
                    [one] => one.target_group_arn(),
                    _ => None,
                })
            });
            map([("type", Value::from("forward")), ("targetGroupArn", Value::from(tg))])
        }
        Some(ActionTypeEnum::FixedResponse) => {
            let f = a.fixed_response_config();
            map([
                ("type", Value::from("fixed-response")),
                ("statusCode", Value::from(f.and_then(|f| f.status_code()))),
                ("contentType", Value::from(f.and_then(|f| f.content_type()))),
                ("messageBody", Value::from(f.and_then(|f| f.message_body()).filter(|b| !b.is_empty()))),
            ])
        }
        Some(ActionTypeEnum::Redirect) => {
            let r = a.redirect_config();
            map([
                ("type", Value::from("redirect")),
                ("protocol", Value::from(r.and_then(|r| r.protocol()))),
                ("port", Value::from(r.and_then(|r| r.port()))),
                ("host", Value::from(r.and_then(|r| r.host()))),
                ("path", Value::from(r.and_then(|r| r.path()))),
                ("query", Value::from(r.and_then(|r| r.query()))),
                ("statusCode", Value::from(r.and_then(|r| r.status_code()).map(|s| s.as_str()))),
            ])
        }
        other => map([("type", Value::from(other.map(|t| t.as_str())))]),
    }
}

/// The action a listener or rule runs last (ELBv2 orders them; this crate
/// declares one).
pub(crate) fn last(actions: &[SdkAction]) -> Option<&SdkAction> {
    actions.iter().max_by_key(|a| a.order().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(a: &Action) -> Vec<String> {
        let mut c = Checks::default();
        a.validate(&mut c, "action");
        c.into_problems().into_iter().map(|(_, m)| m).collect()
    }

    #[test]
    fn actions_are_checked_like_aws_would() {
        assert!(problems(&Action::redirect_to_https()).is_empty());
        assert!(problems(&Action::fixed_response(404, "nope")).is_empty());
        assert_eq!(problems(&Action::fixed_response(302, "x")).len(), 1, "3XX is a redirect's job");
        let self_loop = Action::Redirect(Redirect::builder().build());
        assert!(problems(&self_loop)[0].contains("redirect to itself"));
        let bad = Action::Redirect(Redirect::builder().protocol("ftp").port("0").path("x").build());
        assert_eq!(problems(&bad).len(), 3);
    }

    #[test]
    fn an_action_reads_back_as_declared() {
        for a in [Action::redirect_to_https(), Action::fixed_response(503, "maintenance")] {
            let Expr::Value(declared) = a.to_expr() else { panic!("plain action") };
            let sdk = to_sdk("test", "action", declared.to_plain_json()).unwrap();
            assert_eq!(from_sdk(&sdk), declared);
        }
    }
}

//! API Gateway (REST): an API fronting a Lambda function through a
//! `{proxy+}` resource, with a mock method, deployed to a stage with
//! variables, throttling, tracing and access logs — created, read back with
//! the SDK, updated in place (a redeploy moving the stage), redeployed by a
//! trigger alone, and destroyed; usage plans with a generated and a given
//! (secret) API key; bad inputs refused at preview.

use std::path::PathBuf;

use iac_aws::apigateway::{
    triggers, AccessLog, ApiKey, ApiResource, ApiStage, Authorization, Backend, Deployment, EndpointType, Integration,
    Method, Quota, QuotaPeriod, RestApi, Stage, Throttle, UsagePlan, UsagePlanKey,
};
use iac_aws::iam::Role;
use iac_aws::lambda::{Code, Function, Permission};
use iac_aws::logs::LogGroup;
use iac_aws::policy::{PolicyDocument, Principal, Statement};
use iac_core::ops::{Applied, RunOptions, Session};
use iac_core::{Error, Output, Stack, Value};

use crate::support::*;

#[derive(Clone)]
struct Api {
    name: &'static str,
    endpoint: EndpointType,
    binary: Vec<String>,
    part: &'static str,
    iam: bool,
    timeout: i32,
    variables: Vec<(&'static str, &'static str)>,
    throttle: Option<Throttle>,
    tracing: bool,
    access_logs: bool,
    release: &'static str,
    team: &'static str,
    dir: PathBuf,
}

fn lambda_role(s: &Stack, name: &str) -> Output<String> {
    let role = s.add(
        "role",
        Role::builder()
            .name(name)
            .assume_role_policy(
                PolicyDocument::new().statement(
                    Statement::builder()
                        .actions(["sts:AssumeRole"])
                        .principals(vec![Principal::Service("lambda.amazonaws.com".into())])
                        .build(),
                ),
            )
            .build(),
    );
    role.arn.clone()
}

fn api_program(s: &Stack, x: &Api) {
    let role = lambda_role(s, "orders-api-fn");
    let f = s.add(
        "orders-fn",
        Function::builder()
            .name("orders-fn")
            .runtime("python3.12")
            .handler("index.handler")
            .role(role)
            .code(Code::Directory(x.dir.clone()))
            .build(),
    );
    let logs = s.add("access-logs", LogGroup::builder().name("orders-api-access").retention_in_days(7).build());
    let api = s.add(
        "api",
        RestApi::builder()
            .name(x.name)
            .description("the orders service")
            .endpoint_type(x.endpoint)
            .binary_media_types(x.binary.clone())
            .tags(iac_aws::tags([("Team", x.team)]))
            .build(),
    );
    let items = s.add(
        "items",
        ApiResource::builder()
            .rest_api_id(api.id.clone())
            .parent_id(api.root_resource_id.clone())
            .path_part(x.part)
            .build(),
    );
    let proxy = s.add(
        "proxy",
        ApiResource::builder().rest_api_id(api.id.clone()).parent_id(items.id.clone()).path_part("{proxy+}").build(),
    );
    let mut params = vec![("method.request.path.proxy".to_owned(), true)];
    if x.iam {
        params.push(("method.request.header.X-Request-Id".to_owned(), false));
    }
    let any = s.add(
        "proxy-any",
        Method::builder()
            .rest_api_id(api.id.clone())
            .resource_id(proxy.id.clone())
            .http_method("ANY")
            .authorization(if x.iam { Authorization::AwsIam } else { Authorization::None })
            .api_key_required(x.iam)
            .request_parameters(params.into_iter().collect())
            .build(),
    );
    let to_fn = s.add(
        "proxy-lambda",
        Integration::builder()
            .method(any.id.clone())
            .backend(Backend::LambdaProxy(f.invoke_arn.clone().into()))
            .timeout_millis(x.timeout)
            .build(),
    );
    let health = s.add(
        "root-get",
        Method::builder()
            .rest_api_id(api.id.clone())
            .resource_id(api.root_resource_id.clone())
            .http_method("GET")
            .build(),
    );
    let mock = s.add(
        "root-mock",
        Integration::builder()
            .method(health.id.clone())
            .backend(Backend::Mock)
            .request_templates(
                [("application/json".to_owned(), r#"{"statusCode": 200}"#.to_owned())].into_iter().collect(),
            )
            .build(),
    );
    let release = Output::known(x.release.to_owned());
    let deployment = s.add(
        "deployment",
        Deployment::builder()
            .rest_api_id(api.id.clone())
            .description("orders API")
            .triggers(triggers([
                ("proxy-any", &any.fingerprint),
                ("proxy-lambda", &to_fn.fingerprint),
                ("root-get", &health.fingerprint),
                ("root-mock", &mock.fingerprint),
                ("items", &items.path),
                ("release", &release),
            ]))
            .build(),
    );
    let prod = s.add(
        "prod",
        Stage::builder()
            .rest_api_id(api.id.clone())
            .deployment_id(deployment.id.clone())
            .stage_name("prod")
            .variables(x.variables.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
            .maybe_throttle(x.throttle)
            .tracing_enabled(x.tracing)
            .maybe_access_log(x.access_logs.then(|| AccessLog {
                destination_arn: logs.arn.clone().into(),
                format: r#"{"requestId":"$context.requestId","status":"$context.status"}"#.into(),
            }))
            .tags(iac_aws::tags([("Team", x.team)]))
            .build(),
    );
    s.add(
        "api-invokes-fn",
        Permission::builder()
            .function(f.name.clone())
            .statement_id("api-gateway")
            .principal("apigateway.amazonaws.com")
            .source_arn(api.execution_arn.map(|arn| format!("{arn}/*/*")))
            .build(),
    );
    s.export("url", prod.invoke_url.clone());
}

fn api_session(h: &Harness, x: &Api) -> Session {
    let x = x.clone();
    h.session("apigw", move |s| api_program(s, &x))
}

/// What a preview (no refresh) would do, per resource: `urn op`.
async fn planned(s: &Session) -> Vec<String> {
    let p = s.preview(&RunOptions { refresh: false, ..opts() }).await.expect("preview");
    let mut v: Vec<String> = p.plan.changes().map(|st| format!("{} {:?}", st.urn, st.op)).collect();
    v.sort();
    v
}

fn id_of(a: &Applied, name: &str) -> String {
    a.report.state.resources[&iac_core::Urn::new(name)].id.clone().unwrap_or_else(|| panic!("{name} has an id"))
}

fn output_of(a: &Applied, name: &str, key: &str) -> String {
    let r = &a.report.state.resources[&iac_core::Urn::new(name)];
    r.outputs.get(key).as_str().unwrap_or_else(|| panic!("{name}.{key}: {:?}", r.outputs)).to_owned()
}

/// An untaggable resource is found again by its natural key (AWS keeps it
/// unique), exactly as recorded.
async fn assert_found_by_key(h: &Harness, a: &Applied, stack: &str, name: &str) {
    use iac_core::provider::{FindRequest, Provider};
    let r = &a.report.state.resources[&iac_core::Urn::new(name)];
    let token: &'static str = Box::leak(r.type_token.clone().into_boxed_str());
    let found = h
        .aws
        .find(FindRequest {
            type_token: token,
            urn: r.urn.clone(),
            stack: stack.into(),
            inputs: r.inputs.clone(),
            known_ids: vec![],
        })
        .await
        .unwrap_or_else(|e| panic!("find {name}: {e}"))
        .unwrap_or_else(|| panic!("{name} found by its natural key"));
    assert_eq!(Some(&found.id), r.id.as_ref(), "{name}");
    assert!(iac_core::diff::diff(&r.inputs, &found.inputs).is_empty(), "{name} found as recorded: {:?}", found.inputs);
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_api_fronting_a_lambda_function() {
    let h = Harness::new();
    let gw = h.aws.apigateway().await.clone();
    let lambda = h.aws.lambda().await.clone();
    let code = tempfile::tempdir().unwrap();
    std::fs::write(code.path().join("index.py"), "def handler(event, context):\n    return {'statusCode': 200}\n")
        .unwrap();
    let v1 = Api {
        name: "orders",
        endpoint: EndpointType::Regional,
        binary: vec!["image/png".into()],
        part: "items",
        iam: false,
        timeout: 29_000,
        variables: vec![("TABLE", "orders"), ("MODE", "live")],
        throttle: Some(Throttle { burst_limit: 100, rate_limit: 50.0 }),
        tracing: true,
        access_logs: true,
        release: "r1",
        team: "orders",
        dir: code.path().into(),
    };

    let s = api_session(&h, &v1);
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "apigw").await;
    let api_id = id_of(&a, "api");
    let api = gw.get_rest_api().rest_api_id(&api_id).send().await.unwrap();
    assert_eq!(api.name(), Some("orders"));
    assert_eq!(api.description(), Some("the orders service"));
    assert_eq!(api.endpoint_configuration().unwrap().types()[0].as_str(), "REGIONAL");
    assert_eq!(api.binary_media_types(), ["image/png"]);
    assert_eq!(api.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("orders"));
    assert_eq!(output_of(&a, "api", "rootResourceId"), api.root_resource_id().unwrap());
    let items = output_of(&a, "items", "resourceId");
    let proxy = output_of(&a, "proxy", "resourceId");
    let r = gw.get_resource().rest_api_id(&api_id).resource_id(&proxy).send().await.unwrap();
    assert_eq!(r.path(), Some("/items/{proxy+}"));
    assert_eq!(r.parent_id(), Some(items.as_str()));
    assert_eq!(output_of(&a, "proxy", "path"), "/items/{proxy+}");
    let m = gw.get_method().rest_api_id(&api_id).resource_id(&proxy).http_method("ANY").send().await.unwrap();
    assert_eq!(m.authorization_type(), Some("NONE"));
    assert_eq!(m.api_key_required(), Some(false));
    assert_eq!(m.request_parameters().unwrap().get("method.request.path.proxy"), Some(&true));
    let function_arn = lambda.get_function().function_name("orders-fn").send().await.unwrap();
    let function_arn = function_arn.configuration().unwrap().function_arn().unwrap().to_owned();
    let i = gw.get_integration().rest_api_id(&api_id).resource_id(&proxy).http_method("ANY").send().await.unwrap();
    assert_eq!(i.r#type().map(|t| t.as_str()), Some("AWS_PROXY"));
    assert_eq!(i.http_method(), Some("POST"));
    assert_eq!(
        i.uri(),
        Some(
            format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations")
                .as_str()
        ),
        "the integration invokes the function"
    );
    assert_eq!(i.timeout_in_millis(), 29_000);
    let root = api.root_resource_id().unwrap();
    let mock = gw.get_integration().rest_api_id(&api_id).resource_id(root).http_method("GET").send().await.unwrap();
    assert_eq!(mock.r#type().map(|t| t.as_str()), Some("MOCK"));
    assert_eq!(
        mock.request_templates().unwrap().get("application/json").map(String::as_str),
        Some(r#"{"statusCode": 200}"#)
    );
    let deployments = gw.get_deployments().rest_api_id(&api_id).send().await.unwrap();
    assert_eq!(deployments.items().len(), 1, "one deployment");
    let first_deployment = output_of(&a, "deployment", "deploymentId");
    assert_eq!(deployments.items()[0].id(), Some(first_deployment.as_str()));
    let stage = gw.get_stage().rest_api_id(&api_id).stage_name("prod").send().await.unwrap();
    assert_eq!(stage.deployment_id(), Some(first_deployment.as_str()), "the stage serves the deployment");
    let vars = stage.variables().unwrap();
    assert_eq!(
        (vars.get("TABLE").map(String::as_str), vars.get("MODE").map(String::as_str)),
        (Some("orders"), Some("live"))
    );
    let all = &stage.method_settings().unwrap()["*/*"];
    assert_eq!((all.throttling_burst_limit(), all.throttling_rate_limit()), (100, 50.0));
    assert!(stage.tracing_enabled());
    let log_group = output_of(&a, "access-logs", "arn");
    let access = stage.access_log_settings().unwrap();
    assert_eq!(access.destination_arn(), Some(log_group.as_str()));
    assert!(access.format().unwrap().contains("$context.requestId"));
    assert_eq!(stage.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("orders"));
    let url = format!("https://{api_id}.execute-api.us-east-1.amazonaws.com/prod");
    assert_eq!(a.report.state.outputs["url"], Value::from(url.as_str()), "the invoke URL is a stack output");
    let policy = lambda.get_policy().function_name("orders-fn").send().await.unwrap().policy.unwrap();
    assert!(
        policy.contains(&format!("arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/*")),
        "the API may invoke the function: {policy}"
    );
    assert_adoptable(&h, &a, "apigw", "api").await;
    assert_adoptable(&h, &a, "apigw", "prod").await;
    for natural in ["items", "proxy", "proxy-any", "proxy-lambda", "root-get", "root-mock"] {
        assert_found_by_key(&h, &a, "apigw", natural).await;
    }
    assert_no_drift(&s).await;

    // In place: everything but the deployment, which a changed method,
    // integration or path makes again; the stage moves to the new one.
    let v2 = Api {
        name: "orders-v2",
        endpoint: EndpointType::Edge,
        binary: vec!["application/octet-stream".into()],
        part: "things",
        iam: true,
        timeout: 10_000,
        variables: vec![("TABLE", "orders-v2"), ("REGION", "us-east-1")],
        throttle: Some(Throttle { burst_limit: 20, rate_limit: 7.5 }),
        tracing: false,
        access_logs: false,
        team: "orders-2",
        ..v1.clone()
    };
    let s = api_session(&h, &v2);
    assert_eq!(
        planned(&s).await,
        ["api Update", "deployment Replace", "items Update", "prod Update", "proxy-any Update", "proxy-lambda Update",]
    );
    let a = up(&s).await;
    assert_eq!(id_of(&a, "api"), api_id, "the same API");
    let api = gw.get_rest_api().rest_api_id(&api_id).send().await.unwrap();
    assert_eq!(api.name(), Some("orders-v2"));
    assert_eq!(api.endpoint_configuration().unwrap().types()[0].as_str(), "EDGE");
    assert_eq!(api.binary_media_types(), ["application/octet-stream"]);
    assert_eq!(api.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("orders-2"));
    assert_eq!(output_of(&a, "proxy", "resourceId"), proxy, "the same resource, moved");
    let r = gw.get_resource().rest_api_id(&api_id).resource_id(&proxy).send().await.unwrap();
    assert_eq!(r.path(), Some("/things/{proxy+}"));
    let m = gw.get_method().rest_api_id(&api_id).resource_id(&proxy).http_method("ANY").send().await.unwrap();
    assert_eq!(m.authorization_type(), Some("AWS_IAM"));
    assert_eq!(m.api_key_required(), Some(true));
    assert_eq!(m.request_parameters().unwrap().get("method.request.header.X-Request-Id"), Some(&false));
    let i = gw.get_integration().rest_api_id(&api_id).resource_id(&proxy).http_method("ANY").send().await.unwrap();
    assert_eq!(i.timeout_in_millis(), 10_000);
    let second_deployment = output_of(&a, "deployment", "deploymentId");
    assert_ne!(second_deployment, first_deployment, "redeployed");
    assert!(
        gw.get_deployment().rest_api_id(&api_id).deployment_id(&first_deployment).send().await.is_err(),
        "the old deployment is gone"
    );
    let stage = gw.get_stage().rest_api_id(&api_id).stage_name("prod").send().await.unwrap();
    assert_eq!(stage.deployment_id(), Some(second_deployment.as_str()), "the stage moved to the new deployment");
    let vars = stage.variables().unwrap();
    assert_eq!(vars.len(), 2);
    assert_eq!(
        (vars.get("TABLE").map(String::as_str), vars.get("REGION").map(String::as_str)),
        (Some("orders-v2"), Some("us-east-1"))
    );
    let all = &stage.method_settings().unwrap()["*/*"];
    assert_eq!((all.throttling_burst_limit(), all.throttling_rate_limit()), (20, 7.5));
    assert!(!stage.tracing_enabled());
    assert!(stage.access_log_settings().is_none_or(|a| a.destination_arn().is_none()), "access logging off");
    assert_eq!(stage.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("orders-2"));
    assert_no_drift(&s).await;

    // A trigger alone redeploys: nothing else changes but the stage's
    // deployment. Throttling dropped goes from the stage too.
    let v3 = Api { release: "r2", throttle: None, ..v2.clone() };
    let s = api_session(&h, &v3);
    assert_eq!(planned(&s).await, ["deployment Replace", "prod Update"]);
    let a = up(&s).await;
    let third_deployment = output_of(&a, "deployment", "deploymentId");
    assert_ne!(third_deployment, second_deployment, "redeployed");
    let stage = gw.get_stage().rest_api_id(&api_id).stage_name("prod").send().await.unwrap();
    assert_eq!(stage.deployment_id(), Some(third_deployment.as_str()));
    assert!(stage.method_settings().is_none_or(|m| !m.contains_key("*/*")), "throttling removed");
    let deployments = gw.get_deployments().rest_api_id(&api_id).send().await.unwrap();
    assert_eq!(deployments.items().len(), 1, "only the served deployment is left");
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(gw.get_rest_api().rest_api_id(&api_id).send().await.is_err(), "the API is gone");
    assert!(lambda.get_function().function_name("orders-fn").send().await.is_err(), "the function is gone");
}

const KEY_VALUE: &str = "partner-b-key-9f2c41e07d5a-plaintext";
const KEY_VALUE_2: &str = "partner-b-key-rotated-3e8a10cd-plaintext";

#[derive(Clone)]
struct Plans {
    plan_name: &'static str,
    stages: Vec<&'static str>,
    throttle: Option<Throttle>,
    quota: Option<Quota>,
    key_a_enabled: bool,
    key_a_name: &'static str,
    key_b_value: &'static str,
    team: &'static str,
}

fn plans_program(s: &Stack, x: &Plans) {
    let api = s.add("plan-api", RestApi::builder().name("metered").endpoint_type(EndpointType::Regional).build());
    let get = s.add(
        "plan-get",
        Method::builder()
            .rest_api_id(api.id.clone())
            .resource_id(api.root_resource_id.clone())
            .http_method("GET")
            .api_key_required(true)
            .build(),
    );
    let mock = s.add(
        "plan-mock",
        Integration::builder()
            .method(get.id.clone())
            .backend(Backend::Mock)
            .request_templates(
                [("application/json".to_owned(), r#"{"statusCode": 200}"#.to_owned())].into_iter().collect(),
            )
            .build(),
    );
    let deployment = s.add(
        "plan-deployment",
        Deployment::builder()
            .rest_api_id(api.id.clone())
            .triggers(triggers([("get", &get.fingerprint), ("mock", &mock.fingerprint)]))
            .build(),
    );
    let mut stages = Vec::new();
    for name in ["live", "beta"] {
        let stage = s.add(
            name,
            Stage::builder().rest_api_id(api.id.clone()).deployment_id(deployment.id.clone()).stage_name(name).build(),
        );
        if x.stages.contains(&name) {
            stages.push(ApiStage { api_id: api.id.clone().into(), stage: stage.name.clone().into() });
        }
    }
    let plan = s.add(
        "plan",
        UsagePlan::builder()
            .name(x.plan_name)
            .description("partners")
            .api_stages(stages)
            .maybe_throttle(x.throttle)
            .maybe_quota(x.quota)
            .tags(iac_aws::tags([("Team", x.team)]))
            .build(),
    );
    let key_a = s.add(
        "key-a",
        ApiKey::builder().name(x.key_a_name).enabled(x.key_a_enabled).tags(iac_aws::tags([("Team", x.team)])).build(),
    );
    let key_b = s.add(
        "key-b",
        ApiKey::builder().name("partner-b").value(Output::known(x.key_b_value.to_owned()).secret()).build(),
    );
    s.add("plan-key-a", UsagePlanKey::builder().usage_plan_id(plan.id.clone()).key_id(key_a.id.clone()).build());
    s.add("plan-key-b", UsagePlanKey::builder().usage_plan_id(plan.id.clone()).key_id(key_b.id.clone()).build());
}

fn plans_session(h: &Harness, x: &Plans) -> Session {
    let x = x.clone();
    h.session("apigw-plans", move |s| plans_program(s, &x))
}

/// No file of the stack (state, journal, config) holds `secret`.
fn assert_not_stored(h: &Harness, secret: &str) {
    for entry in walk(h.dir.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(!text.contains(secret), "an API key value in plaintext in {}", entry.display());
    }
}

/// Neither the plan shown nor any recorded output holds `secret`.
fn assert_not_shown(a: &Applied, secret: &str) {
    for st in &a.plan.steps {
        if let Some(inputs) = &st.new_inputs {
            assert!(!inputs.to_string().contains(secret), "an API key value shown in the plan of {}", st.urn);
        }
        for d in &st.diffs {
            assert!(!format!("{} {}", d.old, d.new).contains(secret), "an API key value in the diff of {}", st.urn);
        }
    }
    for r in a.report.state.resources.values() {
        assert!(
            !r.outputs.to_plain_json().unwrap_or_default().to_string().contains(secret),
            "an API key value in {}'s outputs",
            r.urn
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_plans_and_api_keys_lifecycle() {
    let h = Harness::new();
    let gw = h.aws.apigateway().await.clone();
    let v1 = Plans {
        plan_name: "partners",
        stages: vec!["live"],
        throttle: Some(Throttle { burst_limit: 20, rate_limit: 10.0 }),
        quota: Some(Quota { limit: 10_000, period: QuotaPeriod::Month, offset: 0 }),
        key_a_enabled: true,
        key_a_name: "partner-a",
        key_b_value: KEY_VALUE,
        team: "partners",
    };
    let s = plans_session(&h, &v1);
    let a = up(&s).await;
    assert_find_skips_known(&h, &a, "apigw-plans").await;
    let api_id = id_of(&a, "plan-api");
    let plan_id = id_of(&a, "plan");
    let (key_a, key_b) = (id_of(&a, "key-a"), id_of(&a, "key-b"));
    let plan = gw.get_usage_plan().usage_plan_id(&plan_id).send().await.unwrap();
    assert_eq!(plan.name(), Some("partners"));
    assert_eq!(plan.description(), Some("partners"));
    let stages: Vec<(&str, &str)> =
        plan.api_stages().iter().map(|s| (s.api_id().unwrap(), s.stage().unwrap())).collect();
    assert_eq!(stages, [(api_id.as_str(), "live")]);
    let t = plan.throttle().unwrap();
    assert_eq!((t.burst_limit(), t.rate_limit()), (20, 10.0));
    let q = plan.quota().unwrap();
    assert_eq!((q.limit(), q.period().map(|p| p.as_str()), q.offset()), (10_000, Some("MONTH"), 0));
    assert_eq!(plan.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("partners"));
    let a_key = gw.get_api_key().api_key(&key_a).include_value(true).send().await.unwrap();
    assert_eq!((a_key.name(), a_key.enabled()), (Some("partner-a"), true));
    let generated = a_key.value().expect("AWS generated a value").to_owned();
    let b_key = gw.get_api_key().api_key(&key_b).include_value(true).send().await.unwrap();
    assert_eq!(b_key.value(), Some(KEY_VALUE), "the given value");
    let members = gw.get_usage_plan_keys().usage_plan_id(&plan_id).send().await.unwrap();
    let mut ids: Vec<&str> = members.items().iter().filter_map(|k| k.id()).collect();
    ids.sort_unstable();
    let mut want = vec![key_a.as_str(), key_b.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want, "both keys are in the plan");
    assert_not_stored(&h, KEY_VALUE);
    assert_not_stored(&h, &generated);
    assert_not_shown(&a, KEY_VALUE);
    assert_not_shown(&a, &generated);
    for taggable in ["plan", "key-a", "key-b", "live"] {
        assert_adoptable(&h, &a, "apigw-plans", taggable).await;
    }
    assert_found_by_key(&h, &a, "apigw-plans", "plan-key-a").await;
    assert_no_drift(&s).await;

    // In place: the plan's name, stages, throttling, quota and tags; key A
    // renamed and disabled.
    let v2 = Plans {
        plan_name: "partners-v2",
        stages: vec!["live", "beta"],
        throttle: Some(Throttle { burst_limit: 5, rate_limit: 2.5 }),
        quota: Some(Quota { limit: 500, period: QuotaPeriod::Week, offset: 1 }),
        key_a_enabled: false,
        key_a_name: "partner-a-suspended",
        team: "partners-2",
        ..v1.clone()
    };
    let s = plans_session(&h, &v2);
    assert_eq!(planned(&s).await, ["key-a Update", "plan Update"]);
    let a = up(&s).await;
    assert_eq!(id_of(&a, "plan"), plan_id, "the same plan");
    let plan = gw.get_usage_plan().usage_plan_id(&plan_id).send().await.unwrap();
    assert_eq!(plan.name(), Some("partners-v2"));
    let mut stages: Vec<&str> = plan.api_stages().iter().filter_map(|s| s.stage()).collect();
    stages.sort_unstable();
    assert_eq!(stages, ["beta", "live"]);
    let t = plan.throttle().unwrap();
    assert_eq!((t.burst_limit(), t.rate_limit()), (5, 2.5));
    let q = plan.quota().unwrap();
    assert_eq!((q.limit(), q.period().map(|p| p.as_str()), q.offset()), (500, Some("WEEK"), 1));
    assert_eq!(plan.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("partners-2"));
    let a_key = gw.get_api_key().api_key(&key_a).send().await.unwrap();
    assert_eq!((a_key.name(), a_key.enabled()), (Some("partner-a-suspended"), false));
    assert_eq!(a_key.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("partners-2"));
    assert_no_drift(&s).await;

    // Throttling and the quota dropped; key B's value rotated: a new key
    // (the old one deleted first), and its plan membership with it.
    let v3 = Plans { stages: vec!["beta"], throttle: None, quota: None, key_b_value: KEY_VALUE_2, ..v2.clone() };
    let s = plans_session(&h, &v3);
    assert_eq!(planned(&s).await, ["key-b Replace", "plan Update", "plan-key-b Replace"]);
    let a = up(&s).await;
    let plan = gw.get_usage_plan().usage_plan_id(&plan_id).send().await.unwrap();
    assert!(plan.throttle().is_none() && plan.quota().is_none(), "throttling and quota removed: {plan:?}");
    let stages: Vec<&str> = plan.api_stages().iter().filter_map(|s| s.stage()).collect();
    assert_eq!(stages, ["beta"]);
    let new_b = id_of(&a, "key-b");
    assert_ne!(new_b, key_b, "a new key");
    assert!(gw.get_api_key().api_key(&key_b).send().await.is_err(), "the old key is gone");
    let b_key = gw.get_api_key().api_key(&new_b).include_value(true).send().await.unwrap();
    assert_eq!(b_key.value(), Some(KEY_VALUE_2));
    assert!(
        gw.get_usage_plan_key().usage_plan_id(&plan_id).key_id(&new_b).send().await.is_ok(),
        "the new key is in the plan"
    );
    assert_not_stored(&h, KEY_VALUE_2);
    assert_not_shown(&a, KEY_VALUE_2);
    assert_no_drift(&s).await;

    destroy(&s).await;
    assert!(gw.get_usage_plan().usage_plan_id(&plan_id).send().await.is_err(), "the plan is gone");
    for key in [&key_a, &new_b] {
        assert!(gw.get_api_key().api_key(key).send().await.is_err(), "key {key} is gone");
    }
    assert!(gw.get_rest_api().rest_api_id(&api_id).send().await.is_err(), "the API is gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_api_gateway_inputs_are_refused_at_preview() {
    let h = Harness::new();
    let s = h.session("bad-apigw", |s| {
        let api =
            s.add("bad-api", RestApi::builder().name(" ").binary_media_types(vec!["png".into(), "png".into()]).build());
        s.add(
            "slash-part",
            ApiResource::builder().rest_api_id(api.id.clone()).parent_id("r00t").path_part("a/b").build(),
        );
        s.add(
            "open-brace",
            ApiResource::builder().rest_api_id(api.id.clone()).parent_id("r00t").path_part("{id").build(),
        );
        s.add(
            "twin-1",
            ApiResource::builder().rest_api_id(api.id.clone()).parent_id("r00t").path_part("twins").build(),
        );
        s.add(
            "twin-2",
            ApiResource::builder().rest_api_id(api.id.clone()).parent_id("r00t").path_part("twins").build(),
        );
        let greedy = s.add(
            "greedy",
            ApiResource::builder().rest_api_id(api.id.clone()).parent_id("r00t").path_part("{proxy+}").build(),
        );
        s.add(
            "under-greedy",
            ApiResource::builder().rest_api_id(api.id.clone()).parent_id(greedy.id.clone()).path_part("x").build(),
        );
        s.add(
            "fetch-method",
            Method::builder()
                .rest_api_id(api.id.clone())
                .resource_id(greedy.id.clone())
                .http_method("FETCH")
                .request_parameters([("querystring.page".to_owned(), true)].into_iter().collect())
                .authorization(Authorization::CognitoUserPools {
                    authorizer_id: "au".into(),
                    scopes: vec!["a".into(), "a".into()],
                })
                .build(),
        );
        s.add(
            "get-1",
            Method::builder().rest_api_id(api.id.clone()).resource_id(greedy.id.clone()).http_method("GET").build(),
        );
        s.add(
            "get-2",
            Method::builder().rest_api_id(api.id.clone()).resource_id(greedy.id.clone()).http_method("GET").build(),
        );
        s.add(
            "fn-arn-integration",
            Integration::builder()
                .method("not-a-method-id")
                .backend(Backend::LambdaProxy("arn:aws:lambda:us-east-1:123456789012:function:f".into()))
                .timeout_millis(10)
                .request_templates([("json".to_owned(), "{}".to_owned())].into_iter().collect())
                .build(),
        );
        s.add(
            "ftp-integration",
            Integration::builder()
                .method("a/r/GET")
                .backend(Backend::HttpProxy { url: "ftp://example.com".into(), method: "get".into() })
                .build(),
        );
        s.add("no-triggers", Deployment::builder().rest_api_id(api.id.clone()).build());
        s.add(
            "bad-stage",
            Stage::builder()
                .rest_api_id(api.id.clone())
                .deployment_id("d")
                .stage_name("has space")
                .variables(iac_aws::tags([("bad-name", "a b")]))
                .throttle(Throttle { burst_limit: -1, rate_limit: -0.5 })
                .access_log(AccessLog {
                    destination_arn: "arn:aws:logs:us-east-1:123456789012:log-group:g:*".into(),
                    format: "$context.status".into(),
                })
                .build(),
        );
        for twin in ["stage-twin-1", "stage-twin-2"] {
            s.add(twin, Stage::builder().rest_api_id(api.id.clone()).deployment_id("d").stage_name("prod").build());
        }
        s.add(
            "bad-plan",
            UsagePlan::builder()
                .name("p")
                .api_stages(vec![
                    ApiStage { api_id: "a".into(), stage: "prod".into() },
                    ApiStage { api_id: "a".into(), stage: "prod".into() },
                ])
                .throttle(Throttle { burst_limit: 1, rate_limit: f64::NAN })
                .quota(Quota { limit: -5, period: QuotaPeriod::Day, offset: 3 })
                .build(),
        );
        s.add("short-key", ApiKey::builder().name("k").value("short").build());
    });
    let err = s.preview(&opts()).await.err().expect("preview must fail");
    let Error::Invalid(diags) = &err else { panic!("expected validation errors, got {err}") };
    let text = err.to_string();
    assert!(!text.contains("short\""), "the key's value is not quoted: {text}");
    for (resource, what) in [
        ("bad-api", "name: must not be empty"),
        ("bad-api", "`png` is not a media type"),
        ("bad-api", "`png` is listed twice"),
        ("slash-part", "`a/b` is not a path part"),
        ("open-brace", "`{id` is not a path part"),
        ("twin-1", "path part `twins` under `r00t` is also declared by `twin-2`"),
        ("twin-2", "is also declared by `twin-1`"),
        ("under-greedy", "greedy `{proxy+}`"),
        ("fetch-method", "`FETCH` is not an HTTP method"),
        ("fetch-method", "`querystring.page` is not like method.request.querystring.<name>"),
        ("fetch-method", "`a` is listed twice"),
        ("get-1", "GET on `greedy` is also declared by `get-2`"),
        ("fn-arn-integration", "`not-a-method-id` is not a method id"),
        ("fn-arn-integration", "is not a Lambda invoke ARN"),
        ("fn-arn-integration", "10 ms: between 50 and 29000"),
        ("fn-arn-integration", "`json` is not a content type"),
        ("ftp-integration", "`ftp://example.com` is not an http(s) URL"),
        ("ftp-integration", "`get` is not an HTTP method"),
        ("no-triggers", "name what it deploys"),
        ("bad-stage", "stageName: `has space` is not allowed"),
        ("bad-stage", "`bad-name` is not a variable name"),
        ("bad-stage", "the value of `bad-name`, `a b`"),
        ("bad-stage", "a burst limit of -1: not negative"),
        ("bad-stage", "a rate limit of -0.5"),
        ("bad-stage", "must include $context.requestId"),
        ("bad-stage", "leave out the trailing `:*`"),
        ("stage-twin-1", "stage `prod` of `bad-api` is also declared by `stage-twin-2`"),
        ("bad-plan", "a rate limit of NaN"),
        ("bad-plan", "a limit of -5: not negative"),
        ("bad-plan", "an offset of 3 for a DAY period: 0 to 0"),
        ("bad-plan", "stage `prod` of `a` is listed twice"),
        ("short-key", "5 characters: 20 to 128"),
    ] {
        assert!(
            diags.iter().any(|d| d.to_string().contains(resource) && d.to_string().contains(what)),
            "missing `{what}` on {resource}: {text}"
        );
    }
}

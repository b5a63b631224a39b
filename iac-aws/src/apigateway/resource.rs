//! `ApiResource`: a path of a REST API (`/orders`, `/orders/{id}`,
//! `/{proxy+}`), one part under its parent.

use async_trait::async_trait;
use aws_sdk_apigateway::types::Op;
use iac_core::provider::*;
use iac_core::{props, Checks, Diagnostic, Expr, Graph, Input, Output, Resource, Schema, Urn, Value};

use super::{patch, ref_key, report_duplicates, ApiResourceId, RestApiId, GONE};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{map, unless_known, In};

pub(crate) const TYPE: &str = "aws:apigateway:Resource";

/// Schema: a resource belongs to one API; its path part and parent change
/// in place (`UpdateResource`), its methods and children staying with it.
pub static SCHEMA: Schema = Schema {
    replace_on: &["restApiId"],
    computed_on_update: &["path"],
    graph_check: Some(check_tree),
    ..Schema::new(TYPE, "aws")
};

/// A resource: one path part under a parent (the API's root resource or
/// another resource).
///
/// ```
/// use iac_aws::apigateway::ApiResource;
/// let orders = ApiResource::builder().rest_api_id("a1b2c3d4e5").parent_id("r00tid").path_part("orders").build();
/// let order = ApiResource::builder().rest_api_id("a1b2c3d4e5").parent_id("0rders").path_part("{id}").build();
/// let rest = ApiResource::builder().rest_api_id("a1b2c3d4e5").parent_id("r00tid").path_part("{proxy+}").build();
/// # let _ = (orders, order, rest);
/// ```
#[derive(bon::Builder)]
pub struct ApiResource {
    /// The API (replaces).
    #[builder(into)]
    pub rest_api_id: Input<RestApiId>,
    /// The parent: the API's `root_resource_id` or another resource's `id`.
    #[builder(into)]
    pub parent_id: Input<ApiResourceId>,
    /// The path part: a literal (`orders`), a parameter (`{id}`), or a
    /// greedy parameter (`{proxy+}`) matching the rest of any path.
    #[builder(into)]
    pub path_part: String,
}

/// Outputs of an [`ApiResource`].
pub struct ApiResourceOutputs {
    /// Its id, for methods and child resources.
    pub id: Output<ApiResourceId>,
    /// Its full path (`/orders/{id}`). After a parent's path part changes in
    /// place, a descendant's recorded path is brought up to date by the next
    /// `refresh`.
    pub path: Output<String>,
}

impl Resource for ApiResource {
    type Outputs = ApiResourceOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("restApiId", self.rest_api_id.to_expr()),
            ("parentId", self.parent_id.to_expr()),
            ("pathPart", Value::from(self.path_part.as_str()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ApiResourceOutputs {
        ApiResourceOutputs { id: Output::from_ref(urn, "resourceId"), path: Output::from_ref(urn, "path") }
    }
    fn validate(&self, c: &mut Checks) {
        check_path_part(c, &self.path_part);
    }
}

/// A path part AWS accepts: letters, digits and `._-:`, or all that inside
/// braces (a parameter), with a `+` before the closing brace for a greedy
/// one.
fn check_path_part(c: &mut Checks, part: &str) {
    let literal = |s: &str| !s.is_empty() && s.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-:".contains(ch));
    let ok = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        Some(inner) => literal(inner.strip_suffix('+').unwrap_or(inner)),
        None => literal(part),
    };
    c.check(ok, "pathPart", || {
        format!(
            "`{part}` is not a path part: letters, digits and ._-: only, or a parameter like {{id}} or {{proxy+}} \
             (one part, no `/`)"
        )
    });
    c.check(part.len() <= 1024, "pathPart", || format!("{} characters; at most 1024", part.len()));
}

/// Across the program: two resources of one path part under one parent, and
/// a resource under a greedy `{…+}` one (which has no children).
fn check_tree(g: &Graph, out: &mut Vec<Diagnostic>) {
    report_duplicates(g, out, TYPE, "pathPart", |d| {
        let (parent, shown) = ref_key(d.input("parentId"))?;
        let part = d.plain_input("pathPart")?.as_str()?;
        Some((format!("{parent}\n{part}"), format!("path part `{part}` under {shown}")))
    });
    for d in g.resources.values().filter(|d| d.type_token == TYPE) {
        let Some(Expr::Ref { urn, .. }) = d.input("parentId") else { continue };
        let Some(parent) = g.resources.get(urn).filter(|p| p.type_token == TYPE) else { continue };
        if let Some(part) = parent.plain_input("pathPart").and_then(Value::as_str).filter(|p| p.ends_with("+}")) {
            out.push(Diagnostic {
                urn: d.urn.clone(),
                type_token: TYPE.into(),
                field: "parentId".into(),
                message: format!("its parent `{urn}` is the greedy `{part}`, which matches every path below it and can have no children"),
            });
        }
    }
}

fn split_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('/')
}

async fn describe(p: &AwsProvider, api: &str, resource: &str) -> Result<Option<(Value, Value)>, ProviderError> {
    let r = match p.apigateway().await.get_resource().rest_api_id(api).resource_id(resource).send().await {
        Ok(r) => r,
        Err(e) if is_code(&e, GONE) => return Ok(None),
        Err(e) => return Err(aws_err("GetResource", e)),
    };
    let inputs = map([
        ("restApiId", Value::from(api)),
        ("parentId", Value::from(r.parent_id())),
        ("pathPart", Value::from(r.path_part())),
    ]);
    let outputs = map([("resourceId", Value::from(r.id())), ("path", Value::from(r.path()))]);
    Ok(Some((inputs, outputs)))
}

/// The resource of this path part under this parent, if any: a parent's
/// path parts are unique.
async fn find_child(p: &AwsProvider, api: &str, parent: &str, part: &str) -> Result<Option<String>, ProviderError> {
    let gw = p.apigateway().await;
    let mut position = None;
    loop {
        let page = match gw.get_resources().rest_api_id(api).limit(500).set_position(position).send().await {
            Ok(page) => page,
            Err(e) if is_code(&e, GONE) => return Ok(None),
            Err(e) => return Err(aws_err("GetResources", e)),
        };
        if let Some(r) = page.items().iter().find(|r| r.parent_id() == Some(parent) && r.path_part() == Some(part)) {
            return Ok(r.id().map(str::to_owned));
        }
        match page.position() {
            Some(next) if !next.is_empty() => position = Some(next.to_owned()),
            _ => return Ok(None),
        }
    }
}

pub(crate) struct ApiResourceHandler;

#[async_trait]
impl Handler for ApiResourceHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateResource");
        let (api, parent, part) = (i.str("restApiId")?, i.str("parentId")?, i.str("pathPart")?);
        let resource = match p
            .apigateway()
            .await
            .create_resource()
            .rest_api_id(api)
            .parent_id(parent)
            .path_part(part)
            .send()
            .await
        {
            Ok(r) => r.id().ok_or_else(|| ProviderError::fatal("CreateResource", "no id returned"))?.to_owned(),
            // A create retried after a crash finds its own resource: the
            // parent and path part are all there is to it.
            Err(e) if is_code(&e, &["ConflictException"]) => match find_child(p, api, parent, part).await? {
                Some(id) => id,
                None => return Err(aws_err("CreateResource", e)),
            },
            Err(e) => return Err(aws_err("CreateResource", e)),
        };
        let (_, outputs) = describe(p, api, &resource)
            .await?
            .ok_or_else(|| ProviderError::fatal("GetResource", format!("{resource} vanished after create")))?;
        Ok(CreateResult { id: format!("{api}/{resource}"), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let Some((api, resource)) = split_id(&req.id) else { return Ok(None) };
        Ok(describe(p, api, resource).await?.map(|(inputs, outputs)| ReadResult {
            id: req.id.clone(),
            inputs,
            outputs,
        }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let new = In::new(&req.inputs, "UpdateResource");
        let (api, resource) =
            split_id(&req.id).ok_or_else(|| ProviderError::fatal("UpdateResource", format!("bad id `{}`", req.id)))?;
        let mut ops = Vec::new();
        for (key, path) in [("pathPart", "/pathPart"), ("parentId", "/parentId")] {
            if req.changed.iter().any(|c| c == key) {
                ops.push(patch(Op::Replace, path, Some(new.str(key)?.to_owned())));
            }
        }
        p.apigateway()
            .await
            .update_resource()
            .rest_api_id(api)
            .resource_id(resource)
            .set_patch_operations(Some(ops))
            .send()
            .await
            .map_err(|e| aws_err("UpdateResource", e))?;
        let (_, outputs) = describe(p, api, resource)
            .await?
            .ok_or_else(|| ProviderError::fatal("GetResource", format!("{resource} is gone")))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        let Some((api, resource)) = split_id(&req.id) else { return Ok(()) };
        match p.apigateway().await.delete_resource().rest_api_id(api).resource_id(resource).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, GONE) => Ok(()),
            Err(e) => Err(aws_err("DeleteResource", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        // Resources take no tags; a path part is unique under its parent.
        let i = In::new(&req.inputs, "");
        let (Some(api), Some(parent), Some(part)) =
            (i.opt_str("restApiId"), i.opt_str("parentId"), i.opt_str("pathPart"))
        else {
            return Ok(None);
        };
        let Some(resource) = find_child(p, api, parent, part).await? else { return Ok(None) };
        let found = describe(p, api, &resource).await?.map(|(inputs, outputs)| ReadResult {
            id: format!("{api}/{resource}"),
            inputs,
            outputs,
        });
        Ok(unless_known(&req, found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(part: &str) -> usize {
        let mut c = Checks::default();
        check_path_part(&mut c, part);
        c.into_problems().len()
    }

    #[test]
    fn path_parts_are_literals_or_parameters() {
        for ok in ["orders", "v1.2", "a_b-c:d", "{id}", "{proxy+}", "{order_id}"] {
            assert_eq!(problems(ok), 0, "{ok}");
        }
        for bad in ["", "a/b", "{}", "{+}", "{id", "id}", "{a}{b}", "{pro xy+}", "ünï", "a+", "{a+b}"] {
            assert_eq!(problems(bad), 1, "{bad}");
        }
    }
}

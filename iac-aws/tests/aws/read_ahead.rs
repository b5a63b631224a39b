//! Tags read ahead for a refresh (`Provider::read_ahead`, one tagging-API
//! call for the tags of many resources) are hints: a read whose answer
//! differs from the record is confirmed by the resource's own service. Here
//! the read-ahead is made stale on purpose, between `read_ahead` and
//! `read_many`, as AWS's tagging index may lag behind a service.

use std::collections::HashMap;

use iac_aws::ecr::Repository;
use iac_aws::logs::LogGroup;
use iac_core::provider::{Provider, ReadRequest};
use iac_core::state::ResourceState;
use iac_core::Value;

use crate::support::*;

fn request(r: &ResourceState) -> ReadRequest {
    ReadRequest {
        type_token: Box::leak(r.type_token.clone().into_boxed_str()),
        urn: r.urn.clone(),
        id: r.id.clone().expect("an id"),
        inputs: r.inputs.clone(),
        outputs: r.outputs.clone(),
    }
}

/// The `Team` tag each read answered, by resource.
fn teams(reqs: &[ReadRequest], read: &[Option<iac_core::provider::ReadResult>]) -> HashMap<String, Option<String>> {
    reqs.iter()
        .zip(read)
        .map(|(req, r)| {
            let r = r.as_ref().unwrap_or_else(|| panic!("{} read back", req.urn));
            (req.urn.as_str().to_owned(), r.inputs.get("tags").get("Team").as_str().map(str::to_owned))
        })
        .collect()
}

#[tokio::test]
async fn tags_read_ahead_are_hints_the_service_confirms() {
    let h = Harness::new();
    let (a, b, repo) = (unique("hint-a"), unique("hint-b"), unique("hint-repo"));
    let names = (a.clone(), b.clone(), repo.clone());
    let s = h.session("tag-index", move |s| {
        let team = || iac_aws::tags([("Team", "data")]);
        s.add("group-a", LogGroup::builder().name(names.0.clone()).tags(team()).build());
        s.add("group-b", LogGroup::builder().name(names.1.clone()).tags(team()).build());
        s.add("repo", Repository::builder().name(names.2.clone()).tags(team()).force_delete(true).build());
    });
    let applied = up(&s).await;
    let reqs: Vec<ReadRequest> = ["group-a", "group-b", "repo"].map(|n| request(recorded(&applied, n))).to_vec();
    let logs = h.aws.logs().await;
    let arn = |i: usize| reqs[i].outputs.get("arn").as_str().unwrap().to_owned();
    let tag = |arn: String, team: &'static str| async move {
        logs.tag_resource().resource_arn(arn).tags("Team", team).send().await.unwrap();
    };

    // Stale and unlike the record: group-a is retagged between the
    // read-ahead and the read, and back. The service's answer (as
    // recorded) wins; no drift is made up.
    tag(arn(0), "ops").await;
    h.aws.read_ahead(&reqs).await;
    tag(arn(0), "data").await;
    let read = h.aws.read_many(reqs.clone()).await.unwrap();
    h.aws.read_done();
    let seen = teams(&reqs, &read);
    assert_eq!(seen["group-a"].as_deref(), Some("data"), "a stale hint was taken for drift: {seen:?}");
    assert_eq!(seen["group-b"].as_deref(), Some("data"), "{seen:?}");
    assert_eq!(seen["repo"].as_deref(), Some("data"), "{seen:?}");

    // Real drift, read ahead for group-b and the repository (ECR's tags
    // answered by the tagging API too), is found.
    tag(arn(1), "ops").await;
    let ecr = h.aws.ecr().await;
    ecr.tag_resource()
        .resource_arn(arn(2))
        .tags(aws_sdk_ecr::types::Tag::builder().key("Team").value("ml").build().unwrap())
        .send()
        .await
        .unwrap();
    h.aws.read_ahead(&reqs).await;
    let read = h.aws.read_many(reqs.clone()).await.unwrap();
    h.aws.read_done();
    let seen = teams(&reqs, &read);
    assert_eq!(seen["group-b"].as_deref(), Some("ops"), "{seen:?}");
    assert_eq!(seen["repo"].as_deref(), Some("ml"), "{seen:?}");

    // Once the refresh is done, its read-ahead answers nothing: a read
    // after it asks the service.
    h.aws.read_ahead(&reqs).await;
    h.aws.read_done();
    tag(arn(0), "finance").await;
    let read = h.aws.read(reqs[0].clone()).await.unwrap();
    let team = read.as_ref().and_then(|r| r.inputs.get("tags").get("Team").as_str().map(str::to_owned));
    assert_eq!(team.as_deref(), Some("finance"));
    assert_eq!(read.unwrap().inputs.get("tags"), &Value::from_json(&serde_json::json!({"Team": "finance"})));

    destroy(&s).await;
}

/// Task definitions refresh from the listing of active revisions and the
/// read-ahead: a revision deregistered out of band is gone, one retagged
/// drifts in its tags, the others read back as recorded.
#[tokio::test(flavor = "multi_thread")]
async fn task_definitions_refresh_from_the_active_revisions() {
    use iac_aws::ecs::{Container, TaskDefinition};
    let h = Harness::new();
    let families: Vec<String> = (0..3).map(|i| unique(&format!("td{i}"))).collect();
    let names = families.clone();
    let s = h.session("td-refresh", move |s| {
        for (i, family) in names.iter().enumerate() {
            let container = Container::builder().name("c").image("public.ecr.aws/nginx/nginx:1.27").build();
            s.add(
                &format!("td{i}"),
                TaskDefinition::builder()
                    .family(family.clone())
                    .cpu(256)
                    .memory(512)
                    .containers(vec![container])
                    .tags(iac_aws::tags([("Team", "data")]))
                    .build(),
            );
        }
    });
    let applied = up(&s).await;
    assert_no_drift(&s).await;
    let arn = |n: &str| recorded(&applied, n).outputs.get("arn").as_str().unwrap().to_owned();
    let ecs = h.aws.ecs().await;
    ecs.deregister_task_definition().task_definition(arn("td1")).send().await.unwrap();
    let tag = aws_sdk_ecs::types::Tag::builder().key("Team").value("ops").build();
    ecs.tag_resource().resource_arn(arn("td2")).tags(tag).send().await.unwrap();

    let (drift, _) = s.refresh(8, &mut |_| Ok(true)).await.expect("refresh");
    let mut seen: Vec<(String, Vec<String>)> = drift
        .iter()
        .map(|d| {
            let paths = d.diffs.iter().flatten().map(|p| p.path.clone()).collect();
            (d.urn.as_str().to_owned(), paths)
        })
        .collect();
    seen.sort();
    assert_eq!(seen, [("td1".to_owned(), vec![]), ("td2".to_owned(), vec!["tags.Team".to_owned()])]);
    let state = s.load_state().await.unwrap();
    assert!(!state.resources.contains_key(&iac_core::Urn::new("td1")), "the deregistered revision is gone");
    let td2 = &state.resources[&iac_core::Urn::new("td2")];
    assert_eq!(td2.inputs.get("tags").get("Team").as_str(), Some("ops"));
    assert_eq!(td2.inputs.get("containers"), recorded(&applied, "td2").inputs.get("containers"));

    destroy(&s).await;
}

/// A VPC's route tables and security groups are read ahead for every type
/// that reads them; what changed out of band before the refresh is seen,
/// and a table the read-ahead no longer shows is asked for, and gone.
#[tokio::test(flavor = "multi_thread")]
async fn vpc_contents_read_ahead_show_what_changed() {
    use iac_aws::ec2::{RouteTable, RouteTableAssociation, SecurityGroup, Subnet, Vpc};
    let h = Harness::new();
    let sg_name = unique("ahead-sg");
    let s = h.session("vpc-ahead", move |s| {
        let vpc = s.add("vpc", Vpc::builder().cidr_block("10.41.0.0/16").build());
        let subnet = s.add(
            "subnet",
            Subnet::builder().vpc_id(vpc.id.clone()).cidr_block("10.41.1.0/24").availability_zone("us-east-1a").build(),
        );
        let rt = s.add("rt", RouteTable::builder().vpc_id(vpc.id.clone()).build());
        s.add("spare-rt", RouteTable::builder().vpc_id(vpc.id.clone()).build());
        s.add(
            "assoc",
            RouteTableAssociation::builder().route_table_id(rt.id.clone()).subnet_id(subnet.id.clone()).build(),
        );
        s.add(
            "sg",
            SecurityGroup::builder()
                .name(sg_name.clone())
                .description("read ahead")
                .vpc_id(vpc.id.clone())
                .tags(iac_aws::tags([("Team", "data")]))
                .build(),
        );
    });
    let applied = up(&s).await;
    assert_no_drift(&s).await;
    let id = |n: &str| recorded(&applied, n).id.clone().unwrap();
    let ec2 = h.aws.ec2().await;
    ec2.delete_route_table().route_table_id(id("spare-rt")).send().await.unwrap();
    let tag = aws_sdk_ec2::types::Tag::builder().key("Team").value("ops").build();
    ec2.create_tags().resources(id("sg")).tags(tag).send().await.unwrap();

    let (drift, _) = s.refresh(8, &mut |_| Ok(true)).await.expect("refresh");
    let mut seen: Vec<(String, Vec<String>)> = drift
        .iter()
        .map(|d| (d.urn.as_str().to_owned(), d.diffs.iter().flatten().map(|p| p.path.clone()).collect()))
        .collect();
    seen.sort();
    assert_eq!(seen, [("sg".to_owned(), vec!["tags.Team".to_owned()]), ("spare-rt".to_owned(), vec![])]);
    let state = s.load_state().await.unwrap();
    assert!(!state.resources.contains_key(&iac_core::Urn::new("spare-rt")), "the deleted table is gone");
    assert_eq!(state.resources[&iac_core::Urn::new("sg")].inputs.get("tags").get("Team").as_str(), Some("ops"));
    destroy(&s).await;
}

/// Roles, their inline policies and their attachments are read from one
/// account-wide listing read ahead for all three types: a policy deleted,
/// an attachment detached and a role retagged out of band are all found,
/// and the policy and attachment left alone read back unchanged.
#[tokio::test(flavor = "multi_thread")]
async fn iam_role_details_read_ahead_show_what_changed() {
    use iac_aws::iam::{Policy, Role, RolePolicy, RolePolicyAttachment};
    use iac_aws::policy::{PolicyDocument, Principal, Statement};
    let h = Harness::new();
    let (role_name, policy_name) = (unique("ahead-role"), unique("ahead-policy"));
    let names = (role_name.clone(), policy_name.clone());
    let s = h.session("iam-ahead", move |s| {
        let trust = PolicyDocument::new().statement(
            Statement::builder()
                .actions(["sts:AssumeRole"])
                .principals(vec![Principal::Service("ecs-tasks.amazonaws.com".into())])
                .build(),
        );
        let doc = |action: &str| {
            PolicyDocument::new()
                .statement(Statement::builder().actions([action.to_owned()]).resources(vec!["*".into()]).build())
        };
        let role = s.add(
            "role",
            Role::builder()
                .name(names.0.clone())
                .assume_role_policy(trust)
                .tags(iac_aws::tags([("Team", "data")]))
                .build(),
        );
        s.add("inline", RolePolicy::builder().role(role.id.clone()).name("reads").policy(doc("s3:GetObject")).build());
        s.add("kept", RolePolicy::builder().role(role.id.clone()).name("writes").policy(doc("s3:PutObject")).build());
        let managed =
            s.add("managed", Policy::builder().name(names.1.clone()).document(doc("logs:PutLogEvents")).build());
        s.add("attach", RolePolicyAttachment::builder().role(role.id.clone()).policy_arn(managed.arn.clone()).build());
        let other = s.add("other", Policy::builder().name(format!("{}-other", names.1)).document(doc("sqs:*")).build());
        s.add(
            "kept-attach",
            RolePolicyAttachment::builder().role(role.id.clone()).policy_arn(other.arn.clone()).build(),
        );
    });
    let applied = up(&s).await;
    assert_no_drift(&s).await;
    let iam = h.aws.iam().await;
    iam.delete_role_policy().role_name(&role_name).policy_name("reads").send().await.unwrap();
    let managed_arn = recorded(&applied, "managed").id.clone().expect("the policy's ARN");
    iam.detach_role_policy().role_name(&role_name).policy_arn(&managed_arn).send().await.unwrap();
    let tag = aws_sdk_iam::types::Tag::builder().key("Team").value("ops").build().unwrap();
    iam.tag_role().role_name(&role_name).tags(tag).send().await.unwrap();

    let (drift, _) = s.refresh(8, &mut |_| Ok(true)).await.expect("refresh");
    let mut seen: Vec<(String, Vec<String>)> = drift
        .iter()
        .map(|d| (d.urn.as_str().to_owned(), d.diffs.iter().flatten().map(|p| p.path.clone()).collect()))
        .collect();
    seen.sort();
    let expected = [
        ("attach".to_owned(), vec![]),
        ("inline".to_owned(), vec![]),
        ("role".to_owned(), vec!["tags.Team".to_owned()]),
    ];
    assert_eq!(seen, expected);
    destroy(&s).await;
}

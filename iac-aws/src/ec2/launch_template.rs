//! `LaunchTemplate`: how EC2 instances start (image, type, groups, disks,
//! user data). A change creates a new version and makes it the default, as
//! Terraform's `update_default_version` does.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateTagSpecificationRequest, RequestLaunchTemplateData, ResourceType, ResponseLaunchTemplateData, Tag,
    VolumeType,
};
use base64::Engine as _;
use iac_core::provider::*;
use iac_core::{props, Checks, Expr, Input, Output, Resource, Schema, Urn, Value};
use serde::{Deserialize, Serialize};

use super::{identity_filters, tag_map, tag_spec, update_tags, LaunchTemplateId, SecurityGroupId};
use crate::error::{aws_err, is_code};
use crate::handler::Handler;
use crate::provider::AwsProvider;
use crate::util::{list_expr, map, opt_expr, ordered_like, tags_value, tags_with_identity, In};

pub(crate) const TYPE: &str = "aws:ec2:LaunchTemplate";

/// Schema: the name is the identity (unique per region, so a rename
/// deletes first); everything else makes a new default version.
pub static SCHEMA: Schema = Schema {
    replace_on: &["name"],
    delete_before_replace: true,
    taggable: true,
    computed_on_update: &["latestVersion", "defaultVersion"],
    ..Schema::new(TYPE, "aws")
};

/// An EBS volume attached at launch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bon::Builder)]
#[serde(rename_all = "camelCase")]
pub struct BlockDevice {
    /// The device name (`/dev/xvda`).
    #[builder(into)]
    pub device_name: String,
    /// Size in GiB.
    pub volume_size: i32,
    /// `gp3` (the default), `gp2`, `io1`, `io2`, `st1`, `sc1`.
    #[builder(into, default = "gp3")]
    pub volume_type: String,
    /// Encrypt the volume (with `kms_key_id`, else the account's EBS key).
    #[builder(default = true)]
    pub encrypted: bool,
    /// A KMS key for the volume.
    #[builder(into)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// Delete the volume with the instance.
    #[builder(default = true)]
    pub delete_on_termination: bool,
}

/// An EC2 launch template.
///
/// ```
/// use iac_aws::ec2::{BlockDevice, LaunchTemplate};
/// let lt = LaunchTemplate::builder()
///     .name("workers")
///     .image_id("ami-0123456789abcdef0")
///     .instance_type("m6i.large")
///     .security_group_ids(vec!["sg-0123456789abcdef0".into()])
///     .user_data("#!/bin/sh\necho hello\n")
///     .block_devices(vec![BlockDevice::builder().device_name("/dev/xvda").volume_size(50).build()])
///     .instance_tags(iac_aws::tags([("Role", "worker")]))
///     .build();
/// # let _ = lt;
/// ```
#[derive(bon::Builder)]
pub struct LaunchTemplate {
    /// The template's name, unique in the region (replaces when changed).
    #[builder(into)]
    pub name: String,
    /// The machine image.
    #[builder(into)]
    pub image_id: Option<Input<String>>,
    /// The instance type (`m6i.large`).
    #[builder(into)]
    pub instance_type: Option<String>,
    /// An EC2 key pair for SSH.
    #[builder(into)]
    pub key_name: Option<String>,
    /// Security groups of the instances' primary interface.
    #[builder(default)]
    pub security_group_ids: Vec<Input<SecurityGroupId>>,
    /// A script or cloud-init document run at first boot (plain text; it
    /// is base64-encoded for AWS).
    #[builder(into)]
    pub user_data: Option<String>,
    /// The instance profile's ARN, for the instances' role.
    #[builder(into)]
    pub iam_instance_profile_arn: Option<Input<String>>,
    /// Volumes attached at launch.
    #[builder(default)]
    pub block_devices: Vec<BlockDevice>,
    /// Require IMDSv2 session tokens for instance metadata (default on).
    #[builder(default = true)]
    pub require_imdsv2: bool,
    /// Tags put on the instances and volumes launched from the template.
    #[builder(default)]
    pub instance_tags: BTreeMap<String, String>,
    /// Tags of the template itself.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`LaunchTemplate`].
pub struct LaunchTemplateOutputs {
    /// Its id (`lt-…`).
    pub id: Output<LaunchTemplateId>,
    /// The newest version number.
    pub latest_version: Output<i64>,
    /// The default version number (the one launches use unless told).
    pub default_version: Output<i64>,
}

impl Resource for LaunchTemplate {
    type Outputs = LaunchTemplateOutputs;
    fn schema() -> &'static Schema {
        &SCHEMA
    }
    fn inputs(&self) -> Expr {
        props([
            ("name", Value::from(self.name.as_str()).into()),
            ("imageId", opt_expr(self.image_id.as_ref())),
            ("instanceType", Value::from(self.instance_type.clone()).into()),
            ("keyName", Value::from(self.key_name.clone()).into()),
            ("securityGroupIds", list_expr(&self.security_group_ids)),
            ("userData", Value::from(self.user_data.clone()).into()),
            ("iamInstanceProfileArn", opt_expr(self.iam_instance_profile_arn.as_ref())),
            ("blockDevices", Value::from_serialize(&self.block_devices).into()),
            ("requireImdsv2", Value::from(self.require_imdsv2).into()),
            ("instanceTags", Value::from(self.instance_tags.clone()).into()),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> LaunchTemplateOutputs {
        LaunchTemplateOutputs {
            id: Output::from_ref(urn, "id"),
            latest_version: Output::from_ref(urn, "latestVersion"),
            default_version: Output::from_ref(urn, "defaultVersion"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        crate::checks::name(
            c,
            "name",
            &self.name,
            128,
            |ch| ch.is_ascii_alphanumeric() || "()./_-".contains(ch),
            "letters, digits and ( ) . / _ - only",
        );
        if let Some(t) = &self.instance_type {
            c.check(t.split_once('.').is_some_and(|(f, s)| !f.is_empty() && !s.is_empty()), "instanceType", || {
                format!("`{t}` is not an instance type like m6i.large")
            });
        }
        if let Some(u) = &self.user_data {
            let encoded = u.len().div_ceil(3) * 4;
            c.check(encoded <= 16 * 1024, "userData", || format!("{encoded} bytes once encoded; the limit is 16 KiB"));
        }
        for (n, d) in self.block_devices.iter().enumerate() {
            let field = format!("blockDevices[{n}]");
            c.check(d.device_name.starts_with("/dev/") || d.device_name.starts_with("xvd"), &field, || {
                format!("`{}` is not a device name like /dev/xvda", d.device_name)
            });
            c.check((1..=65536).contains(&d.volume_size), &field, || {
                format!("{} GiB is not a volume size", d.volume_size)
            });
            c.check(
                ["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"].contains(&d.volume_type.as_str()),
                &field,
                || format!("`{}` is not an EBS volume type", d.volume_type),
            );
            if self.block_devices[..n].iter().any(|o| o.device_name == d.device_name) {
                c.fail(field, format!("`{}` is attached twice", d.device_name));
            }
        }
    }
}

/// The template data the inputs describe.
fn request_data(i: In<'_>) -> Result<RequestLaunchTemplateData, ProviderError> {
    let devices: Vec<BlockDevice> = match i.json("blockDevices") {
        Some(j) => serde_json::from_value(j).map_err(|e| ProviderError::fatal("LaunchTemplateData", e.to_string()))?,
        None => Vec::new(),
    };
    let instance_tags: Vec<Tag> = i
        .json("instanceTags")
        .and_then(|j| serde_json::from_value::<BTreeMap<String, String>>(j).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let tag_specs: Vec<LaunchTemplateTagSpecificationRequest> = if instance_tags.is_empty() {
        Vec::new()
    } else {
        [ResourceType::Instance, ResourceType::Volume]
            .into_iter()
            .map(|rt| {
                LaunchTemplateTagSpecificationRequest::builder()
                    .resource_type(rt)
                    .set_tags(Some(instance_tags.clone()))
                    .build()
            })
            .collect()
    };
    Ok(RequestLaunchTemplateData::builder()
        .set_image_id(i.opt_str("imageId").map(str::to_owned))
        .set_instance_type(i.opt_str("instanceType").map(Into::into))
        .set_key_name(i.opt_str("keyName").map(str::to_owned))
        .set_security_group_ids(Some(i.strs("securityGroupIds")).filter(|v| !v.is_empty()))
        .set_user_data(i.opt_str("userData").map(|u| base64::engine::general_purpose::STANDARD.encode(u)))
        .set_iam_instance_profile(
            i.opt_str("iamInstanceProfileArn")
                .map(|arn| LaunchTemplateIamInstanceProfileSpecificationRequest::builder().arn(arn).build()),
        )
        .set_block_device_mappings(
            Some(
                devices
                    .iter()
                    .map(|d| {
                        LaunchTemplateBlockDeviceMappingRequest::builder()
                            .device_name(&d.device_name)
                            .ebs(
                                LaunchTemplateEbsBlockDeviceRequest::builder()
                                    .volume_size(d.volume_size)
                                    .volume_type(VolumeType::from(d.volume_type.as_str()))
                                    .encrypted(d.encrypted)
                                    .set_kms_key_id(d.kms_key_id.clone())
                                    .delete_on_termination(d.delete_on_termination)
                                    .build(),
                            )
                            .build()
                    })
                    .collect(),
            )
            .filter(|v: &Vec<_>| !v.is_empty()),
        )
        .metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_tokens(if i.opt_bool("requireImdsv2").unwrap_or(true) {
                    LaunchTemplateHttpTokensState::Required
                } else {
                    LaunchTemplateHttpTokensState::Optional
                })
                .build(),
        )
        .set_tag_specifications(Some(tag_specs).filter(|v| !v.is_empty()))
        .build())
}

/// The inputs a version's data describes.
fn data_inputs(d: &ResponseLaunchTemplateData, recorded: &Value) -> Vec<(&'static str, Value)> {
    let devices: Vec<BlockDevice> = d
        .block_device_mappings()
        .iter()
        .filter_map(|m| {
            let ebs = m.ebs()?;
            Some(BlockDevice {
                device_name: m.device_name()?.to_owned(),
                volume_size: ebs.volume_size()?,
                volume_type: ebs.volume_type().map_or("gp3", |t| t.as_str()).to_owned(),
                encrypted: ebs.encrypted().unwrap_or(false),
                kms_key_id: ebs.kms_key_id().map(str::to_owned),
                delete_on_termination: ebs.delete_on_termination().unwrap_or(true),
            })
        })
        .collect();
    // Instance tags are written to instances and volumes alike; read them
    // from the instance entry. (Any `launch-template` entry is the
    // template's own tags, which some endpoints echo into the data.)
    let instance_tags: BTreeMap<String, String> = d
        .tag_specifications()
        .iter()
        .filter(|s| s.resource_type() == Some(&ResourceType::Instance))
        .flat_map(|s| s.tags())
        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
        .collect();
    let user_data = d.user_data().map(|u| {
        base64::engine::general_purpose::STANDARD
            .decode(u)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_else(|| u.to_owned())
    });
    let groups: Vec<String> = d.security_group_ids().to_vec();
    let tokens = d.metadata_options().and_then(|m| m.http_tokens()).map(|t| t.as_str() == "required");
    vec![
        ("imageId", Value::from(d.image_id())),
        ("instanceType", Value::from(d.instance_type().map(|t| t.as_str()))),
        ("keyName", Value::from(d.key_name())),
        ("securityGroupIds", ordered_like(groups, recorded.get("securityGroupIds"))),
        ("userData", Value::from(user_data)),
        ("iamInstanceProfileArn", Value::from(d.iam_instance_profile().and_then(|p| p.arn()))),
        ("blockDevices", Value::from_serialize(&devices)),
        ("requireImdsv2", Value::from(tokens.unwrap_or(false))),
        ("instanceTags", Value::from(instance_tags)),
    ]
}

async fn describe(p: &AwsProvider, id: &str, recorded: &Value) -> Result<Option<(Value, Value)>, ProviderError> {
    let ec2 = p.ec2().await;
    let t = match ec2.describe_launch_templates().launch_template_ids(id).send().await {
        Ok(o) => match o.launch_templates().first() {
            Some(t) => t.clone(),
            None => return Ok(None),
        },
        Err(e) if is_code(&e, &["InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateId.Malformed"]) => {
            return Ok(None)
        }
        Err(e) => return Err(aws_err("DescribeLaunchTemplates", e)),
    };
    let versions = ec2
        .describe_launch_template_versions()
        .launch_template_id(id)
        .versions("$Default")
        .send()
        .await
        .map_err(|e| aws_err("DescribeLaunchTemplateVersions", e))?;
    let data = versions.launch_template_versions().first().and_then(|v| v.launch_template_data());
    let mut inputs: BTreeMap<String, Value> = BTreeMap::new();
    inputs.insert("name".into(), Value::from(t.launch_template_name()));
    if let Some(d) = data {
        for (k, v) in data_inputs(d, recorded) {
            if !v.is_empty_like() {
                inputs.insert(k.into(), v);
            }
        }
    }
    inputs.insert("tags".into(), tags_value(tag_map(t.tags())));
    let outputs = map([
        ("latestVersion", Value::from(t.latest_version_number())),
        ("defaultVersion", Value::from(t.default_version_number())),
    ]);
    Ok(Some((Value::Map(inputs), outputs)))
}

pub(crate) struct LaunchTemplateHandler;

#[async_trait]
impl Handler for LaunchTemplateHandler {
    async fn create(&self, p: &AwsProvider, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let i = In::new(&req.inputs, "CreateLaunchTemplate");
        let out = p
            .ec2()
            .await
            .create_launch_template()
            .launch_template_name(i.str("name")?)
            .launch_template_data(request_data(i)?)
            .client_token(&req.idempotency_token)
            .tag_specifications(tag_spec(
                ResourceType::LaunchTemplate,
                &tags_with_identity(&req.inputs, &req.stack, &req.urn),
            ))
            .send()
            .await
            .map_err(|e| aws_err("CreateLaunchTemplate", e))?;
        let t = out
            .launch_template()
            .ok_or_else(|| ProviderError::fatal("CreateLaunchTemplate", "no template returned"))?;
        let id =
            t.launch_template_id().ok_or_else(|| ProviderError::fatal("CreateLaunchTemplate", "no id returned"))?;
        let outputs = map([
            ("latestVersion", Value::from(t.latest_version_number())),
            ("defaultVersion", Value::from(t.default_version_number())),
        ]);
        Ok(CreateResult { id: id.to_owned(), outputs })
    }

    async fn read(&self, p: &AwsProvider, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(describe(p, &req.id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult { id: req.id, inputs, outputs }))
    }

    async fn update(&self, p: &AwsProvider, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let (old, new) = (In::new(&req.old_inputs, ""), In::new(&req.inputs, "CreateLaunchTemplateVersion"));
        let ec2 = p.ec2().await;
        if req.changed.iter().any(|k| k != "tags") {
            let v = ec2
                .create_launch_template_version()
                .launch_template_id(&req.id)
                .launch_template_data(request_data(new)?)
                .send()
                .await
                .map_err(|e| aws_err("CreateLaunchTemplateVersion", e))?;
            let n = v
                .launch_template_version()
                .and_then(|v| v.version_number())
                .ok_or_else(|| ProviderError::fatal("CreateLaunchTemplateVersion", "no version number returned"))?;
            ec2.modify_launch_template()
                .launch_template_id(&req.id)
                .default_version(n.to_string())
                .send()
                .await
                .map_err(|e| aws_err("ModifyLaunchTemplate", e))?;
        }
        if req.changed.iter().any(|k| k == "tags") {
            update_tags(ec2, &req.id, &old.tags(), &new.tags()).await?;
        }
        let (_, outputs) = describe(p, &req.id, &req.inputs)
            .await?
            .ok_or_else(|| ProviderError::fatal("DescribeLaunchTemplates", "the template is gone"))?;
        Ok(UpdateResult { outputs })
    }

    async fn delete(&self, p: &AwsProvider, req: DeleteRequest) -> Result<(), ProviderError> {
        match p.ec2().await.delete_launch_template().launch_template_id(&req.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, &["InvalidLaunchTemplateId.NotFound"]) => Ok(()),
            Err(e) => Err(aws_err("DeleteLaunchTemplate", e)),
        }
    }

    async fn find(&self, p: &AwsProvider, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let out = p
            .ec2()
            .await
            .describe_launch_templates()
            .set_filters(Some(identity_filters(&req.stack, &req.urn)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_err("DescribeLaunchTemplates", e))?;
        // The old copy of a replace carries the same tags: look past it.
        let Some(id) = req.first_unknown(out.iter().filter_map(|t| t.launch_template_id())) else { return Ok(None) };
        Ok(describe(p, id, &req.inputs).await?.map(|(inputs, outputs)| ReadResult {
            id: id.to_owned(),
            inputs,
            outputs,
        }))
    }
}

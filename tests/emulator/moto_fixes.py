# Starts moto's server with fixes for where moto 5.2.5 answers differently
# from AWS in ways the Rust SDK (stricter than boto3) rejects. Test harness
# only: `iac_tests::moto` runs it with the virtualenv's python.
import json
import re
import sys
import time
import uuid
from urllib.parse import unquote

from moto.apigateway import exceptions as apigw_exceptions
from moto.apigateway import models as apigw_models
from moto.apigateway import urls as apigw_urls
from moto.apigateway.responses import APIGatewayResponse
from moto.batch import models as batch_models
from moto.codebuild import responses as codebuild_responses
from moto.codepipeline import models as codepipeline_models
from moto.core import serialize
from moto.ec2.models import security_groups as ec2_sg
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.kafka import models as kafka_models
from moto.kinesis.responses import KinesisResponse
from moto.kafka.exceptions import NotFoundException as KafkaNotFound
from moto.rds import models as rds_models
from moto.s3 import models as s3_models
from moto.s3.responses import S3Response
from moto.core.exceptions import JsonRESTError
from moto.server import main
from moto.stepfunctions import models as sfn_models
from moto.timestreamwrite import models as timestream_models

# S3 responses moto wraps in `<{Operation}Response>` where AWS (and the
# SDK's parser) use the payload's own root element.
S3_ROOTS = {
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
}

_to_response = serialize.S3Serializer._serialized_result_to_response


def _s3_root_fixed(self, resp, result, shape, serialized_result):
    resp = _to_response(self, resp, result, shape, serialized_result)
    root = S3_ROOTS.get(self.operation_model.name)
    if root and isinstance(resp.get("body"), str):
        resp["body"] = re.sub(r"<(/?)\w+Response\b", r"<\1" + root, resp["body"], count=2)
    return resp


serialize.S3Serializer._serialized_result_to_response = _s3_root_fixed

# RDS: ModifyDBSubnetGroup takes the group out of the backend and never puts
# it back, so the group vanishes.
_modify_subnet_group = rds_models.RDSBackend.modify_db_subnet_group


def _modify_subnet_group_fixed(self, subnet_name, description, subnets):
    group = _modify_subnet_group(self, subnet_name, description, subnets)
    self.subnet_groups[subnet_name] = group
    return group


rds_models.RDSBackend.modify_db_subnet_group = _modify_subnet_group_fixed

# RDS: Performance Insights settings are accepted and dropped. Keep them
# under the names ModifyDBInstance sets (its keyword arguments become
# attributes), and answer `PerformanceInsightsEnabled` from them.
_db_instance_init = rds_models.DBInstance.__init__


def _db_instance_init_fixed(self, *args, **kwargs):
    _db_instance_init(self, *args, **kwargs)
    self.enable_performance_insights = bool(kwargs.get("enable_performance_insights"))
    self.performance_insights_retention_period = kwargs.get("performance_insights_retention_period") or (
        7 if self.enable_performance_insights else None
    )
    self.performance_insights_kms_key_id = kwargs.get("performance_insights_kms_key_id")


rds_models.DBInstance.__init__ = _db_instance_init_fixed
rds_models.DBInstance.performance_insights_enabled = property(
    lambda self: bool(getattr(self, "enable_performance_insights", False))
)

# RDS: a read replica is a shallow copy of its source, so the two share one
# list of CloudWatch log exports: enabling a log type on one enables it (or
# lists it twice) on both. On AWS each instance has its own setting.
_create_read_replica = rds_models.RDSBackend.create_db_instance_read_replica


def _create_read_replica_fixed(self, db_kwargs):
    replica = _create_read_replica(self, db_kwargs)
    replica.enabled_cloudwatch_logs_exports = list(replica.enabled_cloudwatch_logs_exports)
    return replica


rds_models.RDSBackend.create_db_instance_read_replica = _create_read_replica_fixed

# RDS: a cluster's automated snapshots (`rds:<cluster>-<minute>`) outlive
# the cluster, so a cluster deleted and created again within the minute
# fails with DBClusterSnapshotAlreadyExistsFault. AWS deletes automated
# snapshots with their cluster.
_delete_db_cluster = rds_models.RDSBackend.delete_db_cluster


def _delete_db_cluster_fixed(self, cluster_identifier, snapshot_name=None):
    cluster = _delete_db_cluster(self, cluster_identifier, snapshot_name)
    for sid in [k for k, v in self.cluster_snapshots.items() if k.startswith(f"rds:{cluster_identifier}-")]:
        if getattr(self.cluster_snapshots[sid], "snapshot_type", "") == "automated":
            del self.cluster_snapshots[sid]
    return cluster


rds_models.RDSBackend.delete_db_cluster = _delete_db_cluster_fixed

# MSK: a cluster stays CREATING for ever (AWS: ACTIVE once brokers are up;
# moto's RDS, by contrast, reports its instances ready); its creation time
# has no time zone, which the SDK's timestamp parser refuses; describing or
# deleting a missing cluster is a server error instead of NotFoundException.
_describe_cluster = kafka_models.KafkaBackend.describe_cluster
_delete_cluster = kafka_models.KafkaBackend.delete_cluster


def _describe_cluster_fixed(self, cluster_arn):
    cluster = self.clusters.get(cluster_arn)
    if cluster is None:
        raise KafkaNotFound(f"Cluster {cluster_arn} does not exist")
    info = _describe_cluster(self, cluster_arn)
    if not info["creationTime"].endswith("Z"):
        info["creationTime"] += "Z"
    if cluster.state == "CREATING":
        cluster.state = "ACTIVE"
    return info


def _delete_cluster_fixed(self, cluster_arn, current_version):
    if cluster_arn not in self.clusters:
        raise KafkaNotFound(f"Cluster {cluster_arn} does not exist")
    return _delete_cluster(self, cluster_arn, current_version)


_list_clusters = kafka_models.KafkaBackend.list_clusters


def _list_clusters_fixed(self, cluster_name_filter):
    infos = _list_clusters(self, cluster_name_filter)
    for info in infos:
        if not info.get("creationTime", "Z").endswith("Z"):
            info["creationTime"] += "Z"
    return infos


kafka_models.KafkaBackend.list_clusters = _list_clusters_fixed
kafka_models.KafkaBackend.describe_cluster = _describe_cluster_fixed
kafka_models.KafkaBackend.delete_cluster = _delete_cluster_fixed

# Kinesis: CreateStream drops its Tags, so a stream is not found again by
# its identity tags after a crash.
_create_stream = KinesisResponse.create_stream


def _create_stream_fixed(self):
    result = _create_stream(self)
    tags = self._get_param("Tags")
    if tags:
        self.kinesis_backend.add_tags_to_stream(None, self._get_param("StreamName"), tags)
    return result


KinesisResponse.create_stream = _create_stream_fixed

# CodeBuild: CreateProject demands a source location and an artifacts
# location for every type; AWS takes neither for a CODEPIPELINE source or
# artifacts (the pipeline supplies them) nor for NO_SOURCE.
_cb_source = codebuild_responses._validate_required_params_source
_cb_artifacts = codebuild_responses._validate_required_params_artifacts


def _cb_source_fixed(source):
    if source.get("type") not in ("CODEPIPELINE", "NO_SOURCE"):
        _cb_source(source)


def _cb_artifacts_fixed(artifacts):
    if artifacts.get("type") != "CODEPIPELINE":
        _cb_artifacts(artifacts)


codebuild_responses._validate_required_params_source = _cb_source_fixed
codebuild_responses._validate_required_params_artifacts = _cb_artifacts_fixed


# CodePipeline: CreatePipeline checks the role's trust policy by reading each
# statement's `Principal.Service` as one string; AWS (and IAM) take a list,
# which is how policies here are written. Its module sees statements with a
# list split into one statement per service.
class _TrustPolicyJson:
    dumps = staticmethod(json.dumps)

    @staticmethod
    def loads(text, *args, **kwargs):
        doc = json.loads(text, *args, **kwargs)
        statements = doc.get("Statement") if isinstance(doc, dict) else None
        if isinstance(statements, list):
            split = []
            for st in statements:
                principal = st.get("Principal")
                services = principal.get("Service") if isinstance(principal, dict) else None
                if isinstance(services, list):
                    split.extend({**st, "Principal": {**principal, "Service": s}} for s in services)
                else:
                    split.append(st)
            doc["Statement"] = split
        return doc


codepipeline_models.json = _TrustPolicyJson

# S3: GetBucketNotificationConfiguration answers an empty body (not XML)
# for a bucket without notifications, and leaves out the
# EventBridgeConfiguration it stored.
_get_notification = S3Response.get_bucket_notification
_EMPTY_NOTIFICATIONS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></NotificationConfiguration>'
)


def _get_notification_fixed(self):
    config = self.backend.get_bucket_notification_configuration(self.bucket_name)
    if not config:
        return 200, {}, _EMPTY_NOTIFICATIONS
    status, headers, body = _get_notification(self)
    if config.event_bridge is not None:
        text = body.decode() if isinstance(body, bytes) else body
        # The root may be written self-closing when nothing else is set.
        text = re.sub(r"<NotificationConfiguration([^>]*?)\s*/>", r"<NotificationConfiguration\1></NotificationConfiguration>", text)
        body = text.replace("</NotificationConfiguration>", "<EventBridgeConfiguration/></NotificationConfiguration>")
    return status, headers, body


S3Response.get_bucket_notification = _get_notification_fixed

# S3: PutBucketLogging accepts a target bucket's policy only when the
# logging service's principal, the action and the resource are each a single
# string; AWS takes lists too, which is how policies here are written.
def _log_policy_fixed(target_bucket, target_prefix):
    if not target_bucket.policy:
        return False
    doc = json.loads(target_bucket.policy.decode())
    listed = lambda v: v if isinstance(v, list) else [v]
    arn = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}"
    covered = {arn, f"{arn}/*", f"{arn}/{target_prefix or ''}*"}
    for st in listed(doc.get("Statement", [])):
        principal = st.get("Principal", {})
        services = listed(principal.get("Service", [])) if isinstance(principal, dict) else []
        if (
            st.get("Effect") == "Allow"
            and "logging.s3.amazonaws.com" in services
            and {"s3:PutObject", "s3:*", "*"} & set(listed(st.get("Action", [])))
            and covered & set(listed(st.get("Resource", [])))
        ):
            return True
    return False


s3_models.FakeBucket._log_permissions_enabled_policy = staticmethod(_log_policy_fixed)

# EC2: a rule whose peer is another security group keeps its description
# with the peer, and DescribeSecurityGroupRules reads it only from CIDR
# rules, so it reads back empty.
ec2_sg.SecurityGroupRule.description = property(
    lambda self: self.ip_range.get("Description") or (self.source_group or {}).get("Description")
)

# ECS: CreateService and UpdateService drop the capacity provider strategy
# and the health check grace period, so a service reads back without them.
_ECS_KEPT = [
    ("capacityProviderStrategy", "capacity_provider_strategy"),
    ("healthCheckGracePeriodSeconds", "health_check_grace_period_seconds"),
]


def _ecs_keeping(original, name_param):
    def fixed(self):
        result = original(self)
        services, _ = self.ecs_backend.describe_services(self._get_param("cluster", "default"), [self._get_param(name_param)])
        for service in services:
            for param, attr in _ECS_KEPT:
                value = self._get_param(param)
                if value is not None:
                    setattr(service, attr, value)
        return result

    return fixed


EC2ContainerServiceResponse.create_service = _ecs_keeping(EC2ContainerServiceResponse.create_service, "serviceName")
EC2ContainerServiceResponse.update_service = _ecs_keeping(EC2ContainerServiceResponse.update_service, "service")

# API Gateway: moto tags only stages (TagResource on a REST API, API key or
# usage plan ARN is not even routed), though all three take tags at creation
# and return them.
_GW_TAGGED = re.compile(r"::/(restapis|apikeys|usageplans)/([^/]+)$")
apigw_urls.url_paths[
    r"{0}/tags/arn:(?P<partition>[^/]+):apigateway:(?P<region_name>[^/]+)::/(?P<kind>restapis|apikeys|usageplans)/(?P<tagged_id>[^/]+)$"
] = APIGatewayResponse.dispatch


def _gw_tagged(self):
    m = _GW_TAGGED.search(unquote(self.path.split("/tags/")[1]))
    if not m:
        return None
    kind, ident = m.groups()
    if kind == "restapis":
        obj = self.backend.get_rest_api(ident)
    elif kind == "apikeys":
        obj = self.backend.get_api_key(ident)
    else:
        obj = self.backend.get_usage_plan(ident)
    if obj.tags is None:
        obj.tags = {}
    return obj


def _gw_tags_fixed(original, apply):
    def handler(self):
        obj = _gw_tagged(self)
        if obj is None:
            return original(self)
        return apply(self, obj)

    return handler


def _gw_get_tags(self, obj):
    return json.dumps({"tags": obj.tags})


def _gw_tag(self, obj):
    obj.tags.update(self._get_param("tags") or {})
    return "{}"


def _gw_untag(self, obj):
    for key in self.querystring.get("tagKeys") or []:
        obj.tags.pop(key, None)
    return "{}"


APIGatewayResponse.get_tags = _gw_tags_fixed(APIGatewayResponse.get_tags, _gw_get_tags)
APIGatewayResponse.tag_resource = _gw_tags_fixed(APIGatewayResponse.tag_resource, _gw_tag)
APIGatewayResponse.untag_resource = _gw_tags_fixed(APIGatewayResponse.untag_resource, _gw_untag)


def _gw_unescape(part):
    # JSON Pointer escapes, as patch paths use them (`image~1png`).
    return part.replace("~1", "/").replace("~0", "~")


# API Gateway: CreateRestApi drops the binary media types it is given.
_create_rest_api = APIGatewayResponse.create_rest_api


def _create_rest_api_fixed(self):
    status, headers, body = _create_rest_api(self)
    media = self._get_param("binaryMediaTypes")
    if status == 200 and media:
        api = self.backend.get_rest_api(json.loads(body)["id"])
        api.binaryMediaTypes = list(media)
        body = json.dumps(api.to_dict())
    return status, headers, body


APIGatewayResponse.create_rest_api = _create_rest_api_fixed

# API Gateway: UpdateRestApi adds and removes binary media types named in the
# path (`add /binaryMediaTypes/image~1png`, no value); moto adds the absent
# value instead.
_rest_api_patch = apigw_models.RestAPI.apply_patch_operations


def _rest_api_patch_fixed(self, patch_operations):
    rest = []
    for op in patch_operations:
        path = op["path"]
        if path.startswith("/binaryMediaTypes/") and op["op"] in ("add", "remove"):
            media = _gw_unescape(path[len("/binaryMediaTypes/"):])
            if op["op"] == "add" and media not in self.binaryMediaTypes:
                self.binaryMediaTypes.append(media)
            elif op["op"] == "remove" and media in self.binaryMediaTypes:
                self.binaryMediaTypes.remove(media)
        else:
            rest.append(op)
    _rest_api_patch(self, rest)


apigw_models.RestAPI.apply_patch_operations = _rest_api_patch_fixed


# API Gateway: moto lacks UpdateResource, UpdateMethod and UpdateIntegration
# (in-place changes of a path part, a method's authorization and parameters,
# an integration's URI and timeout). These apply the patch paths AWS
# documents for them.
def _gw_parts(self):
    parts = self.path.split("/")
    return parts[2], parts[4], (parts[6] if len(parts) > 6 else None)


def _update_resource(self):
    api_id, resource_id, _ = _gw_parts(self)
    resource = self.backend.get_resource(api_id, resource_id)
    for op in self._get_param("patchOperations") or []:
        if op["op"] == "replace" and op["path"] == "/pathPart":
            resource.path_part = op["value"]
        elif op["op"] == "replace" and op["path"] == "/parentId":
            self.backend.get_resource(api_id, op["value"])
            resource.parent_id = op["value"]
        else:
            raise apigw_exceptions.BadRequestException(f"Invalid patch path {op['path']}")
    return 200, {}, json.dumps(resource.to_dict())


def _update_method(self):
    api_id, resource_id, http_method = _gw_parts(self)
    method = self.backend.get_method(api_id, resource_id, http_method)
    for op in self._get_param("patchOperations") or []:
        path, kind, value = op["path"], op["op"], op.get("value")
        if path.startswith("/requestParameters/"):
            name = _gw_unescape(path[len("/requestParameters/"):])
            params = method.request_parameters or {}
            if kind == "remove":
                params.pop(name, None)
            else:
                params[name] = str(value).lower() == "true"
            method.request_parameters = params
        elif path == "/authorizationScopes":
            scopes = method.authorization_scopes or []
            if kind == "remove":
                scopes = [s for s in scopes if s != value]
            else:
                scopes.append(value)
            method.authorization_scopes = scopes or None
        elif kind == "replace" and path == "/authorizationType":
            method.authorization_type = value
        elif kind == "replace" and path == "/authorizerId":
            method.authorizer_id = value or None
        elif kind == "replace" and path == "/apiKeyRequired":
            method.api_key_required = str(value).lower() == "true"
        elif kind == "replace" and path == "/operationName":
            method.operation_name = value
        else:
            raise apigw_exceptions.BadRequestException(f"Invalid patch path {path}")
    return 200, {}, json.dumps(method.to_json())


def _update_integration(self):
    api_id, resource_id, http_method = _gw_parts(self)
    integration = self.backend.get_integration(api_id, resource_id, http_method)
    if integration is None:
        raise apigw_exceptions.NotFoundException("Invalid Integration identifier specified")
    for op in self._get_param("patchOperations") or []:
        path, kind, value = op["path"], op["op"], op.get("value")
        if path.startswith("/requestTemplates/"):
            content_type = _gw_unescape(path[len("/requestTemplates/"):])
            templates = integration.request_templates or {}
            if kind == "remove":
                templates.pop(content_type, None)
            else:
                templates[content_type] = value
            integration.request_templates = templates or None
        elif kind == "replace" and path == "/uri":
            integration.uri = value
        elif kind == "replace" and path == "/httpMethod":
            integration.http_method = value
        elif kind == "replace" and path == "/timeoutInMillis":
            integration.timeout_in_millis = int(value)
        elif path == "/credentials":
            integration.credentials = value if kind == "replace" else None
        else:
            raise apigw_exceptions.BadRequestException(f"Invalid patch path {path}")
    return 200, {}, json.dumps(integration.to_json())


APIGatewayResponse.update_resource = _update_resource
APIGatewayResponse.update_method = _update_method
APIGatewayResponse.update_integration = _update_integration

# API Gateway: GetIntegration of a method without one answers `{}` (AWS:
# NotFoundException), and GetDeployment of a missing deployment is a server
# error (a KeyError).
_get_integration = apigw_models.APIGatewayBackend.get_integration
_get_deployment = apigw_models.RestAPI.get_deployment


def _get_integration_fixed(self, function_id, resource_id, method_type):
    integration = _get_integration(self, function_id, resource_id, method_type)
    if integration is None:
        raise apigw_exceptions.NotFoundException("Invalid Integration identifier specified")
    return integration


def _get_deployment_fixed(self, deployment_id):
    if deployment_id not in self.deployments:
        raise apigw_exceptions.DeploymentNotFoundException()
    return _get_deployment(self, deployment_id)


apigw_models.APIGatewayBackend.get_integration = _get_integration_fixed
apigw_models.RestAPI.get_deployment = _get_deployment_fixed

# API Gateway: UpdateStage ignores `remove /{resource}/{method}` (AWS drops
# that path's method settings, throttling included).
_stage_patch = apigw_models.Stage.apply_operations


def _stage_patch_fixed(self, patch_operations):
    rest = []
    for op in patch_operations:
        key = op["path"].lstrip("/")
        if op["op"] == "remove" and key in self.method_settings:
            del self.method_settings[key]
        else:
            rest.append(op)
    return _stage_patch(self, rest)


apigw_models.Stage.apply_operations = _stage_patch_fixed

# API Gateway: UpdateUsagePlan parses a throttle's rate limit (a double) as an
# integer, failing on `2.5`, and keeps a quota's limit and offset as the
# strings patch values are, which the SDK refuses as integers.
_usage_plan_patch = apigw_models.UsagePlan.apply_patch_operations


def _usage_plan_patch_fixed(self, patch_operations):
    rest = []
    for op in patch_operations:
        if op["op"] in ("add", "replace") and op["path"] == "/throttle/rateLimit":
            self.throttle["rateLimit"] = float(op["value"])
        elif op["op"] in ("add", "replace") and op["path"] in ("/quota/limit", "/quota/offset"):
            self.quota[op["path"].rsplit("/", 1)[1]] = int(op["value"])
        else:
            rest.append(op)
    _usage_plan_patch(self, rest)


apigw_models.UsagePlan.apply_patch_operations = _usage_plan_patch_fixed
# Batch: CreateComputeEnvironment demands a serviceRole; AWS makes it
# optional and then uses (creating it when missing) its service-linked role
# AWSServiceRoleForBatch, which DescribeComputeEnvironments reports.
_create_ce = batch_models.BatchBackend.create_compute_environment
_BATCH_SLR = "AWSServiceRoleForBatch"


def _create_ce_fixed(self, compute_environment_name, _type, state, compute_resources, service_role, tags=None):
    if not service_role:
        iam = self.iam_backend
        try:
            role = iam.get_role(_BATCH_SLR)
        except Exception:
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"Service": ["batch.amazonaws.com"]}}
                ],
            }
            role = iam.create_role(
                _BATCH_SLR,
                json.dumps(trust),
                "/aws-service-role/batch.amazonaws.com/",
                None,
                "Allows Batch to create and manage AWS resources on your behalf.",
                [],
                "3600",
                linked_service="batch.amazonaws.com",
            )
        service_role = role.arn
    return _create_ce(self, compute_environment_name, _type, state, compute_resources, service_role, tags)


batch_models.BatchBackend.create_compute_environment = _create_ce_fixed

# Batch: UpdateComputeEnvironment drops computeResources (maxvCpus, subnets,
# security groups), which AWS applies to a Fargate environment.
_update_ce = batch_models.BatchBackend.update_compute_environment


def _update_ce_fixed(self, compute_environment_name, state, compute_resources, service_role):
    result = _update_ce(self, compute_environment_name, state, compute_resources, service_role)
    env = self.get_compute_environment(compute_environment_name)
    if env is not None and compute_resources:
        env.compute_resources.update({k: v for k, v in compute_resources.items() if v is not None})
    return result


batch_models.BatchBackend.update_compute_environment = _update_ce_fixed

# Batch: DeleteComputeEnvironment and DeleteJobQueue delete at once whatever
# the state. AWS (as its API reference says) deletes only a DISABLED
# environment that no job queue uses, and only a DISABLED queue; the message
# for a queue still holding the environment is AWS's own.
_delete_ce = batch_models.BatchBackend.delete_compute_environment
_delete_jq = batch_models.BatchBackend.delete_job_queue


def _delete_ce_fixed(self, compute_environment_name):
    env = self.get_compute_environment(compute_environment_name)
    if env is not None:
        if env.state != "DISABLED":
            raise batch_models.ClientException("Cannot delete, compute environment must be DISABLED first")
        if any(env in q.environments for q in self._job_queues.values()):
            raise batch_models.ClientException("Cannot delete, found existing JobQueue relationship")
    return _delete_ce(self, compute_environment_name)


def _delete_jq_fixed(self, queue_name):
    queue = self.get_job_queue(queue_name)
    if queue is not None and queue.state != "DISABLED":
        raise batch_models.ClientException("Cannot delete, job queue must be DISABLED first")
    return _delete_jq(self, queue_name)


batch_models.BatchBackend.delete_compute_environment = _delete_ce_fixed
batch_models.BatchBackend.delete_job_queue = _delete_jq_fixed

# Timestream: DeleteDatabase and UpdateDatabase of a missing database fail
# with a server error (a KeyError) instead of ResourceNotFoundException, and
# DeleteDatabase deletes a database that still has tables, which AWS refuses
# with a ValidationException.
_ts_delete_db = timestream_models.TimestreamWriteBackend.delete_database
_ts_update_db = timestream_models.TimestreamWriteBackend.update_database


def _ts_delete_db_fixed(self, database_name):
    database = self.describe_database(database_name)
    if database.tables:
        raise JsonRESTError(
            "ValidationException", f"Cannot delete database {database_name}: it has tables; delete them first."
        )
    return _ts_delete_db(self, database_name)


def _ts_update_db_fixed(self, database_name, kms_key_id):
    self.describe_database(database_name)
    return _ts_update_db(self, database_name, kms_key_id)


timestream_models.TimestreamWriteBackend.delete_database = _ts_delete_db_fixed
timestream_models.TimestreamWriteBackend.update_database = _ts_update_db_fixed

# Step Functions: UpdateStateMachine ignores an empty tracingConfiguration.
# The SDK leaves out `enabled` when it is false (its modelled default), so
# `{}` is how tracing is turned off, and AWS turns it off.
_sfn_update = sfn_models.StepFunctionBackend.update_state_machine


def _sfn_update_fixed(self, arn, *args, tracing_configuration=None, **kwargs):
    if tracing_configuration is not None and not tracing_configuration:
        tracing_configuration = {"enabled": False}
    return _sfn_update(self, arn, *args, tracing_configuration=tracing_configuration, **kwargs)


sfn_models.StepFunctionBackend.update_state_machine = _sfn_update_fixed

# EKS: moto 5.2.5 has no add-on API at all. Emulated here after AWS's
# documented CreateAddon / DescribeAddon / UpdateAddon / DeleteAddon /
# ListAddons: an add-on belongs to an existing cluster, its name is unique
# there (ResourceInUseException), an unset version takes the add-on's
# default version, it is ACTIVE at once (as moto's clusters are), and it
# takes tags (also through TagResource on its ARN).
from moto.eks import exceptions as eks_exceptions
from moto.eks import models as eks_models
from moto.eks import urls as eks_urls
from moto.eks.responses import EKSResponse

_EKS_DEFAULT_VERSIONS = {
    "vpc-cni": "v1.18.3-eksbuild.1",
    "coredns": "v1.10.1-eksbuild.13",
    "kube-proxy": "v1.28.12-eksbuild.5",
    "aws-ebs-csi-driver": "v1.35.0-eksbuild.1",
}


def _eks_addons(backend):
    if not hasattr(backend, "_iac_addons"):
        backend._iac_addons = {}
    return backend._iac_addons


def _eks_cluster(backend, name):
    if name not in backend.clusters:
        raise eks_exceptions.ResourceNotFoundException(
            clusterName=name, nodegroupName=None, fargateProfileName=None, addonName=None,
            message=f"No cluster found for name: {name}.",
        )
    return backend.clusters[name]


def _eks_addon(backend, cluster, name):
    _eks_cluster(backend, cluster)
    addon = _eks_addons(backend).get((cluster, name))
    if addon is None:
        raise eks_exceptions.ResourceNotFoundException(
            clusterName=cluster, nodegroupName=None, fargateProfileName=None, addonName=name,
            message=f"No addon: {name} found in cluster: {cluster}",
        )
    return addon


def _eks_create_addon(self):
    backend, cluster_name, name = self.eks_backend, self._get_param("name"), self._get_param("addonName")
    cluster = _eks_cluster(backend, cluster_name)
    if (cluster_name, name) in _eks_addons(backend):
        raise eks_exceptions.ResourceInUseException(
            clusterName=cluster_name, nodegroupName=None, addonName=name,
            message=f"Addon already exists with name: {name} in cluster: {cluster_name}",
        )
    now = time.time()
    addon = {
        "addonName": name,
        "clusterName": cluster_name,
        "status": "ACTIVE",
        "addonVersion": self._get_param("addonVersion") or _EKS_DEFAULT_VERSIONS.get(name, "v1.0.0-eksbuild.1"),
        "health": {"issues": []},
        "addonArn": cluster.arn.replace(":cluster/", ":addon/") + f"/{name}/{uuid.uuid4()}",
        "createdAt": now,
        "modifiedAt": now,
        "tags": self._get_param("tags") or {},
    }
    for key in ("serviceAccountRoleArn", "configurationValues"):
        if self._get_param(key):
            addon[key] = self._get_param(key)
    _eks_addons(backend)[(cluster_name, name)] = addon
    return 200, {}, json.dumps({"addon": addon})


def _eks_describe_addon(self):
    addon = _eks_addon(self.eks_backend, self._get_param("name"), self._get_param("addonName"))
    return 200, {}, json.dumps({"addon": addon})


def _eks_update_addon(self):
    addon = _eks_addon(self.eks_backend, self._get_param("name"), self._get_param("addonName"))
    params = []
    for key, kind in (("addonVersion", "AddonVersion"), ("serviceAccountRoleArn", "ServiceAccountRoleArn"),
                      ("configurationValues", "ConfigurationValues"), ("resolveConflicts", "ResolveConflicts")):
        value = self._get_param(key)
        if value is not None:
            if key != "resolveConflicts":
                if value == "":
                    addon.pop(key, None)
                else:
                    addon[key] = value
            params.append({"type": kind, "value": value})
    addon["modifiedAt"] = time.time()
    update = {"id": str(uuid.uuid4()), "status": "Successful", "type": "AddonUpdate", "params": params,
              "createdAt": addon["modifiedAt"], "errors": []}
    return 200, {}, json.dumps({"update": update})


def _eks_delete_addon(self):
    backend, cluster, name = self.eks_backend, self._get_param("name"), self._get_param("addonName")
    addon = _eks_addon(backend, cluster, name)
    del _eks_addons(backend)[(cluster, name)]
    return 200, {}, json.dumps({"addon": dict(addon, status="DELETING")})


def _eks_list_addons(self):
    cluster = self._get_param("name")
    _eks_cluster(self.eks_backend, cluster)
    names = sorted(n for (c, n) in _eks_addons(self.eks_backend) if c == cluster)
    return 200, {}, json.dumps({"addons": names})


EKSResponse.create_addon = _eks_create_addon
EKSResponse.describe_addon = _eks_describe_addon
EKSResponse.update_addon = _eks_update_addon
EKSResponse.delete_addon = _eks_delete_addon
EKSResponse.list_addons = _eks_list_addons
eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/addons$"] = EKSResponse.dispatch
eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)$"] = EKSResponse.dispatch
eks_urls.url_paths["{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)/update$"] = EKSResponse.dispatch


def _eks_tagging(original, apply):
    def fixed(self, resource_arn, arg=None):
        for addon in _eks_addons(self).values():
            if addon["addonArn"] == resource_arn:
                return apply(addon, arg)
        return original(self, resource_arn, arg) if arg is not None else original(self, resource_arn)

    return fixed


eks_models.EKSBackend.tag_resource = _eks_tagging(
    eks_models.EKSBackend.tag_resource, lambda a, tags: a["tags"].update(tags)
)
eks_models.EKSBackend.untag_resource = _eks_tagging(
    eks_models.EKSBackend.untag_resource, lambda a, keys: [a["tags"].pop(k, None) for k in keys] and None
)
eks_models.EKSBackend.list_tags_for_resource = _eks_tagging(
    eks_models.EKSBackend.list_tags_for_resource, lambda a, _: dict(a["tags"])
)


# AppConfig: a hosted configuration version without a description or label
# is answered with the header `Description: None` (the text), so the
# version reads back described as "None".
from moto.appconfig import models as appconfig_models

_hcv_headers = appconfig_models.HostedConfigurationVersion.get_headers


def _hcv_headers_fixed(self):
    return {k: v for k, v in _hcv_headers(self).items() if v is not None}


appconfig_models.HostedConfigurationVersion.get_headers = _hcv_headers_fixed

# CodeDeploy: GetDeploymentGroup answers `alarmConfiguration: {}` (a TODO in
# moto) whatever was stored, so the alarms that stop a deployment are lost;
# and it answers the Auto Scaling groups as the names it was given, where
# AWS answers `{name, hook}` objects (which the SDK reads, finding no name).
from moto.codedeploy import responses as codedeploy_responses

_cd_group_info = codedeploy_responses._deployment_group_info


def _cd_group_info_fixed(group):
    info = _cd_group_info(group)
    info["alarmConfiguration"] = group.alarm_configuration or {}
    info["autoScalingGroups"] = [
        {"name": g} if isinstance(g, str) else g for g in (group.auto_scaling_groups or [])
    ]
    return info


codedeploy_responses._deployment_group_info = _cd_group_info_fixed

# OpenSearch Serverless: CreateCollection takes the last policy of any type
# naming `collection/<name>` exactly, so a network policy (a list) or an
# encryption policy with `AWSOwnedKey` (no `KmsARN`) makes it a server
# error, and a pattern like `collection/logs-*` covers nothing. AWS looks
# for an encryption policy whose rules match the name, patterns included,
# and reports an AWS-owned key as `auto`.
from moto.opensearchserverless import models as aoss_models
from moto.opensearchserverless.exceptions import ValidationException as AossInvalid


def _aoss_covers(sp, name):
    for res in sp.resources:
        pattern = res[len("collection/"):] if res.startswith("collection/") else None
        if pattern is not None and (pattern == name or (pattern.endswith("*") and name.startswith(pattern[:-1]))):
            return True
    return False


def _aoss_create_collection_fixed(self, client_token, description, name, standby_replicas, tags, type):
    if not client_token:
        client_token = aoss_models.mock_random.get_random_string(10)
    policy = next(
        (sp.policy for sp in self.security_policies.values() if sp.type == "encryption" and _aoss_covers(sp, name)),
        None,
    )
    if policy is None:
        raise AossInvalid(
            f"No matching security policy of encryption type found for collection name: {name}. "
            "Please create security policy of encryption type for this collection."
        )
    collection = aoss_models.Collection(
        client_token=client_token,
        description=description,
        name=name,
        standby_replicas=standby_replicas or "ENABLED",
        tags=tags,
        type=type,
        policy={"KmsARN": policy.get("KmsARN") or "auto"},
        region=self.region_name,
        account_id=self.account_id,
    )
    self.collections[collection.id] = collection
    self.tag_resource(collection.arn, tags or [])
    return collection


aoss_models.OpenSearchServiceServerlessBackend.create_collection = _aoss_create_collection_fixed

# Bedrock: a knowledge base's status is `Active` (AWS: `ACTIVE`, which the
# SDK's enum knows), and its times are epoch numbers where the API's are
# ISO 8601 strings, which the Rust SDK refuses.
from datetime import datetime as _dt, timezone as _tz

from moto.bedrockagent import models as bedrockagent_models

_kb_to_dict = bedrockagent_models.KnowledgeBase.to_dict


def _kb_to_dict_fixed(self):
    d = _kb_to_dict(self)
    if d.get("status") == "Active":
        d["status"] = "ACTIVE"
    for key in ("createdAt", "updatedAt"):
        if isinstance(d.get(key), (int, float)):
            d[key] = _dt.fromtimestamp(d[key], _tz.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return d


bedrockagent_models.KnowledgeBase.to_dict = _kb_to_dict_fixed
_kb_summary = bedrockagent_models.KnowledgeBase.dict_summary


def _kb_summary_fixed(self):
    d = _kb_summary(self)
    if d.get("status") == "Active":
        d["status"] = "ACTIVE"
    if isinstance(d.get("updatedAt"), (int, float)):
        d["updatedAt"] = _dt.fromtimestamp(d["updatedAt"], _tz.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return d


bedrockagent_models.KnowledgeBase.dict_summary = _kb_summary_fixed

# EKS: AWS makes a cluster security group for every cluster, in the VPC of
# its subnets (`eks-cluster-sg-<cluster>-<n>`, tagged with the cluster,
# letting its own members in on everything and out anywhere), puts it on the
# control plane's interfaces and on managed nodes without a launch template,
# reports it as `resourcesVpcConfig.clusterSecurityGroupId` (with the
# `vpcId`), and deletes it with the cluster. moto 5.2.5 makes none, so a
# stack letting its nodes into a database has no group to name. Clusters
# on subnets moto does not hold (moto's own tests use made-up ids) get none.
# UpdateClusterConfig changes only the settings it is sent, as on AWS (moto
# replaced the whole VPC configuration, losing the subnets and the group).
# Every cluster has an API endpoint and an OIDC issuer of its own (moto gave
# every cluster of the process the same two, so a second cluster's IAM OIDC
# provider collided with the first's).
from moto.ec2.models import ec2_backends as _ec2_backends

_eks_create_cluster = eks_models.EKSBackend.create_cluster
_eks_delete_cluster = eks_models.EKSBackend.delete_cluster
_eks_update_cluster_config = eks_models.EKSBackend.update_cluster_config


def _eks_create_cluster_fixed(self, name, role_arn, resources_vpc_config, *args, **kwargs):
    cluster = _eks_create_cluster(self, name, role_arn, resources_vpc_config, *args, **kwargs)
    cluster.endpoint = f"https://{uuid.uuid4().hex.upper()}.gr7.{self.region_name}.eks.amazonaws.com"
    cluster.identity = {"oidc": {"issuer": f"https://oidc.eks.{self.region_name}.amazonaws.com/id/{uuid.uuid4().hex.upper()}"}}
    ec2 = _ec2_backends[self.account_id][self.region_name]
    subnets = (resources_vpc_config or {}).get("subnetIds") or []
    try:
        vpc_id = ec2.get_subnet(subnets[0]).vpc_id
    except Exception:
        return cluster
    sg_name = f"eks-cluster-sg-{name}-{uuid.uuid4().int % 10**9:09d}"
    sg = ec2.create_security_group(
        sg_name,
        "EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, "
        "as well as any managed workloads.",
        vpc_id,
        tags={"Name": sg_name, "aws:eks:cluster-name": name, f"kubernetes.io/cluster/{name}": "owned"},
    )
    ec2.authorize_security_group_ingress(sg.id, "-1", None, None, [], source_groups=[{"GroupId": sg.id}])
    cluster.resources_vpc_config = dict(resources_vpc_config, clusterSecurityGroupId=sg.id, vpcId=vpc_id)
    return cluster


def _eks_delete_cluster_fixed(self, name):
    cluster = _eks_delete_cluster(self, name)
    sg_id = (cluster.resources_vpc_config or {}).get("clusterSecurityGroupId")
    if sg_id:
        _ec2_backends[self.account_id][self.region_name].delete_security_group(group_id=sg_id)
    return cluster


def _eks_update_cluster_config_fixed(self, name, resources_vpc_config, *args, **kwargs):
    cluster = self.clusters.get(name)
    if cluster is not None and resources_vpc_config:
        resources_vpc_config = dict(cluster.resources_vpc_config or {}, **resources_vpc_config)
    return _eks_update_cluster_config(self, name, resources_vpc_config, *args, **kwargs)


eks_models.EKSBackend.create_cluster = _eks_create_cluster_fixed
eks_models.EKSBackend.delete_cluster = _eks_delete_cluster_fixed
eks_models.EKSBackend.update_cluster_config = _eks_update_cluster_config_fixed

# ---- ons-data-platform ------------------------------------------------------
# Lambda: a permission given a Qualifier naming an alias lands in the policy
# of the version the alias points at, its Resource `<function>:<version>:
# <alias>`; RemovePermission ignores the Qualifier (so the statement is never
# removed), and once the alias moves to another version GetPolicy no longer
# finds it. On AWS an alias has a resource policy of its own, kept when the
# alias moves, its statements' Resource `<function ARN>:<alias>`.
from moto.awslambda import models as lambda_models
from moto.awslambda.policy import Policy as _LambdaPolicy
from moto.awslambda.responses import LambdaResponse

_lambda_add_permission = lambda_models.LambdaBackend.add_permission
_lambda_get_policy = lambda_models.LambdaBackend.get_policy
_lambda_remove_permission_response = LambdaResponse.remove_permission


def _lambda_alias(backend, function_name, qualifier):
    """The alias named by `qualifier` or the qualified function name (with
    the function's name), or (None, None) for a version, $LATEST or none."""
    name, named = function_name, None
    if name.startswith("arn:"):
        parts = name.split(":")
        name, named = parts[6], (parts[7] if len(parts) > 7 else None)
    elif ":" in name:
        name, named = name.split(":", 1)
    q = named or qualifier
    if not q or q == "$LATEST" or q.isdigit():
        return None, None
    try:
        return backend._lambdas.get_alias(q, name), name
    except Exception:
        return None, None


def _lambda_alias_policy(backend, alias, name):
    if getattr(alias, "_iac_policy", None) is None:
        alias._iac_policy = _LambdaPolicy(backend.get_function(name))
    return alias._iac_policy


def _lambda_add_permission_fixed(self, function_name, qualifier, raw):
    alias, name = _lambda_alias(self, function_name, qualifier)
    if alias is None:
        return _lambda_add_permission(self, function_name, qualifier, raw)
    statement, _ = _lambda_alias_policy(self, alias, name).add_statement(raw, alias.name)
    return statement


def _lambda_get_policy_fixed(self, function_name, qualifier=None):
    alias, name = _lambda_alias(self, function_name, qualifier)
    if alias is None:
        return _lambda_get_policy(self, function_name, qualifier)
    return _lambda_alias_policy(self, alias, name).wire_format()


def _lambda_remove_permission_fixed(self):
    function_name = unquote(self.path.split("/")[-3])
    qualifier = self.querystring.get("Qualifier", [None])[0]
    alias, name = _lambda_alias(self.backend, function_name, qualifier)
    if alias is None:
        return _lambda_remove_permission_response(self)
    statement_id = self.path.split("/")[-1].split("?")[0]
    revision = self.querystring.get("RevisionId", [""])[0]
    _lambda_alias_policy(self.backend, alias, name).del_statement(statement_id, revision)
    return 204, {"status": 204}, "{}"


lambda_models.LambdaBackend.add_permission = _lambda_add_permission_fixed
lambda_models.LambdaBackend.get_policy = _lambda_get_policy_fixed
LambdaResponse.remove_permission = _lambda_remove_permission_fixed

# ecommerce-analytics
#
# MSK: moto 5.2.5 has no GetBootstrapBrokers. Answered after AWS's API
# reference: for each way clients may connect, the brokers' addresses
# (`b-<n>.<cluster>.<id>.c<k>.kafka.<region>.amazonaws.com:<port>`, one per
# broker, comma-separated): plaintext on 9092 and TLS on 9094 for
# unauthenticated clients (TLS also for certificate authentication),
# SASL/SCRAM on 9096 and SASL/IAM on 9098; strings for ways that are off
# are left out. A missing cluster is NotFoundException.
from moto.kafka.responses import KafkaResponse as _KafkaResponse


def _msk_get_bootstrap_brokers(self):
    arn = unquote(self.parsed_url.path.split("/clusters/")[-1].rsplit("/bootstrap-brokers", 1)[0])
    cluster = self.kafka_backend.clusters.get(arn)
    if cluster is None:
        raise KafkaNotFound(f"Cluster {arn} does not exist")
    auth = cluster.client_authentication or {}
    sasl = auth.get("sasl") or {}

    def on(block):
        return bool((block or {}).get("enabled"))

    iam, scram, tls_auth = on(sasl.get("iam")), on(sasl.get("scram")), on(auth.get("tls"))
    # No authentication given at all is unauthenticated access, as on AWS.
    unauth = on(auth.get("unauthenticated")) or not (iam or scram or tls_auth or "unauthenticated" in auth)
    transit = ((cluster.encryption_info or {}).get("encryptionInTransit") or {}).get("clientBroker", "TLS")
    host = cluster.cluster_name.lower()[:64]
    tag = cluster.cluster_id.replace("-", "")[:6]
    count = cluster.number_of_broker_nodes or 1

    def brokers(port):
        return ",".join(
            f"b-{n}.{host}.{tag}.c{(n - 1) % 3 + 1}.kafka.{cluster.region_name}.amazonaws.com:{port}"
            for n in range(1, count + 1)
        )

    out = {}
    if unauth and transit in ("PLAINTEXT", "TLS_PLAINTEXT"):
        out["BootstrapBrokerString"] = brokers(9092)
    if (unauth or tls_auth) and transit in ("TLS", "TLS_PLAINTEXT"):
        out["BootstrapBrokerStringTls"] = brokers(9094)
    if scram:
        out["BootstrapBrokerStringSaslScram"] = brokers(9096)
    if iam:
        out["BootstrapBrokerStringSaslIam"] = brokers(9098)
    return json.dumps({k[0].lower() + k[1:]: v for k, v in out.items()})


_KafkaResponse.get_bootstrap_brokers = _msk_get_bootstrap_brokers

# S3: moto 5.2.5 has no Intelligent-Tiering configurations: a PUT with
# `?intelligent-tiering` is taken for CreateBucket and a GET for
# ListObjects. Emulated after AWS's API reference for
# Put/Get/Delete/ListBucketIntelligentTieringConfiguration(s): the
# configuration is kept as sent, with its bucket (so it goes with it), and
# a missing one is a 404 NoSuchConfiguration.
_S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
_s3_get = S3Response._bucket_response_get
_s3_put = S3Response._bucket_response_put
_s3_delete = S3Response._bucket_response_delete


def _s3_tiering(self, bucket_name):
    bucket = self.backend.get_bucket(bucket_name)
    if not hasattr(bucket, "_iac_tiering"):
        bucket._iac_tiering = {}
    return bucket._iac_tiering


def _s3_no_configuration():
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchConfiguration</Code>'
        "<Message>The specified configuration does not exist.</Message></Error>"
    )
    return 404, {"content-type": "application/xml"}, body


def _s3_tiering_get(self, bucket_name, querystring):
    if "intelligent-tiering" not in querystring:
        return _s3_get(self, bucket_name, querystring)
    configs = _s3_tiering(self, bucket_name)
    config_id = querystring.get("id", [None])[0]
    if config_id is None:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketIntelligentTieringConfigurationsOutput xmlns="{_S3_XMLNS}">'
            "<IsTruncated>false</IsTruncated>" + "".join(configs[k] for k in sorted(configs))
            + "</ListBucketIntelligentTieringConfigurationsOutput>"
        )
        return 200, {"content-type": "application/xml"}, body
    if config_id not in configs:
        return _s3_no_configuration()
    return 200, {"content-type": "application/xml"}, '<?xml version="1.0" encoding="UTF-8"?>\n' + configs[config_id]


def _s3_tiering_put(self, request, bucket_name, querystring):
    if "intelligent-tiering" not in querystring:
        return _s3_put(self, request, bucket_name, querystring)
    configs = _s3_tiering(self, bucket_name)
    body = self.body.decode("utf-8") if isinstance(self.body, bytes) else self.body
    body = re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", body)
    configs[querystring.get("id", [""])[0]] = body
    return 200, {}, ""


def _s3_tiering_delete(self, bucket_name, querystring):
    if "intelligent-tiering" not in querystring:
        return _s3_delete(self, bucket_name, querystring)
    configs = _s3_tiering(self, bucket_name)
    if configs.pop(querystring.get("id", [""])[0], None) is None:
        return _s3_no_configuration()
    return 204, {}, ""


S3Response._bucket_response_get = _s3_tiering_get
S3Response._bucket_response_put = _s3_tiering_put
S3Response._bucket_response_delete = _s3_tiering_delete

# Application Auto Scaling: DeleteScalingPolicy and DeregisterScalableTarget
# of what is not there are a ValidationException; AWS answers
# ObjectNotFoundException (its API reference), which is how a repeated
# delete (an SDK retry after a lost response) finds it gone.
from moto.applicationautoscaling import models as _aas_models

_aas_deregister = _aas_models.ApplicationAutoscalingBackend.deregister_scalable_target


def _aas_deregister_fixed(self, namespace, r_id, dimension):
    if not self._scalable_target_exists(r_id, dimension):
        raise JsonRESTError("ObjectNotFoundException", f"No scalable target found: {r_id}")
    return _aas_deregister(self, namespace, r_id, dimension)


_aas_models.ApplicationAutoscalingBackend.deregister_scalable_target = _aas_deregister_fixed

_aas_delete_policy = _aas_models.ApplicationAutoscalingBackend.delete_scaling_policy


def _aas_delete_policy_fixed(self, policy_name, service_namespace, resource_id, scalable_dimension):
    key = _aas_models.FakeApplicationAutoscalingPolicy.formulate_key(
        service_namespace, resource_id, scalable_dimension, policy_name
    )
    if key not in self.policies:
        raise JsonRESTError("ObjectNotFoundException", f"No scaling policy found: {policy_name}")
    return _aas_delete_policy(self, policy_name, service_namespace, resource_id, scalable_dimension)


_aas_models.ApplicationAutoscalingBackend.delete_scaling_policy = _aas_delete_policy_fixed

# EC2: DeleteVpcEndpoints of a gateway endpoint already deleted (moto keeps
# it, `deleted`) removes its routes again and fails with
# InvalidRoute.NotFound. On AWS deleting it again changes nothing, so a
# repeated delete (an SDK retry after a lost response) succeeds.
from moto.ec2.models import vpcs as _ec2_vpcs

_ec2_delete_endpoints = _ec2_vpcs.VPCBackend.delete_vpc_endpoints


def _ec2_delete_endpoints_fixed(self, vpce_ids=None):
    live = [i for i in vpce_ids or [] if getattr(self.vpc_end_points.get(i), "state", None) != "deleted"]
    return _ec2_delete_endpoints(self, live)


_ec2_vpcs.VPCBackend.delete_vpc_endpoints = _ec2_delete_endpoints_fixed

# CloudWatch Logs: DescribeLogGroups ignores `logGroupIdentifiers` (at most
# 50 names, or ARNs, with no other filter) and lists every group. AWS
# answers exactly the groups named, in one response
# (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogGroups.html).
from moto.logs.exceptions import InvalidParameterException as _LogsInvalid
from moto.logs.responses import LogsResponse as _LogsResponse

_logs_describe_groups = _LogsResponse.describe_log_groups


def _logs_describe_groups_fixed(self):
    wanted = self._get_param("logGroupIdentifiers")
    if not wanted:
        return _logs_describe_groups(self)
    if len(wanted) > 50:
        raise _LogsInvalid(msg="logGroupIdentifiers: Member must have length less than or equal to 50")
    if self._get_param("logGroupNamePrefix") or self._get_param("logGroupNamePattern"):
        raise _LogsInvalid(msg="logGroupIdentifiers cannot be combined with another filter")
    wanted = {w.removesuffix(":*") for w in wanted}
    groups = [
        g for name, g in self.logs_backend.groups.items() if name in wanted or g.arn.removesuffix(":*") in wanted
    ]
    return json.dumps({"logGroups": [g.to_describe_dict() for g in sorted(groups, key=lambda g: g.name)]})


_LogsResponse.describe_log_groups = _logs_describe_groups_fixed

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

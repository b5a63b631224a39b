# Starts moto's server with fixes for where moto 5.2.5 answers differently
# from AWS in ways the Rust SDK (stricter than boto3) rejects. Test harness
# only: `iac_aws::testing` runs it with the virtualenv's python.
import json
import re
import sys

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
from moto.server import main

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

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

# Starts moto's server with fixes for where moto 5.2.5 answers differently
# from AWS in ways the Rust SDK (stricter than boto3) rejects. Test harness
# only: `iac_aws::testing` runs it with the virtualenv's python.
import json
import re
import sys

from moto.batch import models as batch_models
from moto.codebuild import responses as codebuild_responses
from moto.codepipeline import models as codepipeline_models
from moto.core import serialize
from moto.kafka import models as kafka_models
from moto.kinesis.responses import KinesisResponse
from moto.kafka.exceptions import NotFoundException as KafkaNotFound
from moto.rds import models as rds_models
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

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

# The Resource Groups Tagging API's GetResources, as AWS documents it
# (https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html
# and .../supported-services.html). Moto 5.2.5 differs in two ways that
# iac-aws's refresh relies on:
#
#  1. Asked for a ResourceARNList (at most 100 ARNs), AWS answers every
#     listed resource in one response: the list "can't" be combined with
#     the pagination parameters. Moto pages the answer at 50 resources and
#     100 tags, so a read-ahead of 60 resources costs 3 calls instead of 1.
#  2. AWS's `GetResources` "supports all resource types" but IAM users and
#     roles, among them ECR repositories, Kinesis streams, CodePipeline
#     pipelines, RDS subnet groups and (cluster) parameter groups, and ELBv2
#     listeners and rules; moto's index has none of them.
from moto.resourcegroupstaggingapi import models as _tagging_models
from moto.core.resource_tagging import TaggedResource as _TaggedResource


_tagging_get_resources = _tagging_models.ResourceGroupsTaggingAPIBackend.get_resources


def _get_resources_of_arn_list(self, *args, **kwargs):
    if kwargs.get("resource_arn_list"):
        kwargs["resources_per_page"] = 10**9
        kwargs["tags_per_page"] = 10**9
    return _tagging_get_resources(self, *args, **kwargs)


_tagging_models.ResourceGroupsTaggingAPIBackend.get_resources = _get_resources_of_arn_list


class _MoreTagging:
    """Resources of one region's backend that moto's index leaves out, as
    (ARN, tags, resource type) from `items(backend)`."""

    def __init__(self, service, backend, items):
        self._service, self._backend, self._items = service, backend, items

    def owns_arn(self, arn):
        return arn.startswith("arn:") and arn.split(":")[2:3] == [self._service]

    def iter_tagged_resources(self):
        for arn, tags, kind in list(self._items(self._backend)):
            yield _TaggedResource(arn=arn, tags=dict(tags), resource_type=kind)


def _ecr_items(b):
    for r in b.repositories.values():
        yield r.arn, b.tagger.get_tag_dict_for_resource(r.arn), "ecr:repository"


def _kinesis_items(b):
    for s in b.streams.values():
        yield s.arn, s.tags, "kinesis:stream"


def _codepipeline_items(b):
    for p in b.pipelines.values():
        yield p._arn, p.tags, "codepipeline:pipeline"


def _rds_items(b):
    groups = (
        ("rds:subgrp", b.subnet_groups),
        ("rds:pg", b.db_parameter_groups),
        ("rds:cluster-pg", b.db_cluster_parameter_groups),
    )
    for kind, items in groups:
        for g in items.values():
            yield g.arn, {t["Key"]: t["Value"] for t in g.get_tags()}, kind


def _elbv2_items(b):
    for lb in b.load_balancers.values():
        for listener in lb.listeners.values():
            tags = b.tagging_service.get_tag_dict_for_resource(listener.arn)
            yield listener.arn, tags, "elasticloadbalancing:listener"
            for rule in listener._non_default_rules.values():
                tags = b.tagging_service.get_tag_dict_for_resource(rule.arn)
                yield rule.arn, tags, "elasticloadbalancing:listener-rule"


_MORE_TAGGED = (
    ("ecr", "moto.ecr.models", "ecr_backends", _ecr_items),
    ("kinesis", "moto.kinesis.models", "kinesis_backends", _kinesis_items),
    ("codepipeline", "moto.codepipeline.models", "codepipeline_backends", _codepipeline_items),
    ("rds", "moto.rds.models", "rds_backends", _rds_items),
    ("elasticloadbalancing", "moto.elbv2.models", "elbv2_backends", _elbv2_items),
)


_tagging_iter_backends = _tagging_models.iter_taggable_backends


def _iter_taggable_backends_and_more(account_id, region_name):
    import importlib

    yield from _tagging_iter_backends(account_id, region_name)
    for service, module, name, items in _MORE_TAGGED:
        backends = getattr(importlib.import_module(module), name)
        if account_id in backends and region_name in backends[account_id]:
            yield _MoreTagging(service, backends[account_id][region_name], items)


_tagging_models.iter_taggable_backends = _iter_taggable_backends_and_more

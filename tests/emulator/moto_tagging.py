# The Resource Groups Tagging API's GetResources, as AWS documents it
# (https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html
# and .../supported-services.html). Moto 5.2.5 differs in two ways that
# iac-aws's refresh relies on:
#
#  1. Asked for a ResourceARNList (at most 100 ARNs), AWS answers every
#     listed resource in one response: the list "can't" be combined with
#     the pagination parameters. Moto pages the answer at 50 resources and
#     100 tags, so a read-ahead of 60 resources costs 3 calls instead of 1.
#  2. ECR repositories are among the resources AWS's tagging API answers
#     (Amazon ECR: `repository`); moto's ECR backend is not in its index.
from moto.resourcegroupstaggingapi import models as _tagging_models
from moto.core.resource_tagging import TaggedResource as _TaggedResource


_tagging_get_resources = _tagging_models.ResourceGroupsTaggingAPIBackend.get_resources


def _get_resources_of_arn_list(self, *args, **kwargs):
    if kwargs.get("resource_arn_list"):
        kwargs["resources_per_page"] = 10**9
        kwargs["tags_per_page"] = 10**9
    return _tagging_get_resources(self, *args, **kwargs)


_tagging_models.ResourceGroupsTaggingAPIBackend.get_resources = _get_resources_of_arn_list


class _EcrTagging:
    """An ECR region's repositories, as the tagging API's index holds them."""

    def __init__(self, backend):
        self._backend = backend

    def owns_arn(self, arn):
        return arn.startswith("arn:") and arn.split(":")[2:3] == ["ecr"]

    def iter_tagged_resources(self):
        for repo in list(self._backend.repositories.values()):
            tags = self._backend.tagger.get_tag_dict_for_resource(repo.arn)
            yield _TaggedResource(arn=repo.arn, tags=dict(tags), resource_type="ecr:repository")


_tagging_iter_backends = _tagging_models.iter_taggable_backends


def _iter_taggable_backends_with_ecr(account_id, region_name):
    yield from _tagging_iter_backends(account_id, region_name)
    from moto.ecr.models import ecr_backends

    if account_id in ecr_backends and region_name in ecr_backends[account_id]:
        yield _EcrTagging(ecr_backends[account_id][region_name])


_tagging_models.iter_taggable_backends = _iter_taggable_backends_with_ecr

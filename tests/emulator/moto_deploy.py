# AppConfig, CodeDeploy, OpenSearch Serverless and Bedrock knowledge-base
# calls moto 5.2.5 lacks, emulated after AWS's API reference so iac-aws's
# resources of those services can be tested end to end against the
# emulator. Test harness only (`iac_tests::moto` runs it before
# `moto_fixes.py`, which corrects what moto answers wrongly). The gaps, by
# number:
#
#  1. AppConfig: no environments (Create/Get/Update/Delete/ListEnvironments),
#     and no routes for their paths.
#  2. AppConfig: no deployment strategies (Create/Get/Update/Delete/
#     ListDeploymentStrategies; AWS's Delete path is spelled
#     `/deployementstrategies/`). AWS's predefined `AppConfig.*` strategies
#     are not emulated.
#  3. AppConfig: no ListApplications or ListHostedConfigurationVersions.
#  4. CodeDeploy: no DeleteApplication, UpdateDeploymentGroup or
#     DeleteDeploymentGroup.
#  5. CodeDeploy: no deployment configurations (Create/Get/Delete
#     DeploymentConfig); of AWS's predefined `CodeDeployDefault.*` ones,
#     Get answers the Lambda and ECS canary, linear and all-at-once ones and
#     the three server ones.
#  6. OpenSearch Serverless: no DeleteSecurityPolicy, no data access
#     policies (Create/Get/Update/Delete/ListAccessPolicies), no
#     UpdateCollection.
#  7. Bedrock: no UpdateKnowledgeBase, and no data sources (Create/Get/
#     Update/Delete/ListDataSources).
import json as _json
from datetime import datetime as _dt
from datetime import timezone as _tz

from moto.appconfig import urls as _ac_urls
from moto.appconfig.responses import AppConfigResponse as _AcResp
from moto.bedrockagent.exceptions import ResourceNotFoundException as _BrNotFound
from moto.bedrockagent.exceptions import ValidationException as _BrInvalid
from moto.bedrockagent.responses import AgentsforBedrockResponse as _BrResp
from moto.codedeploy.exceptions import ApplicationDoesNotExistException as _CdAppMissing
from moto.codedeploy.exceptions import DeploymentGroupDoesNotExistException as _CdGroupMissing
from moto.codedeploy.responses import CodeDeployResponse as _CdResp
from moto.core.exceptions import JsonRESTError as _JsonError
from moto.core.responses import ActionResult as _CdResult
from moto.core.responses import EmptyResult as _CdEmpty
from moto.core.utils import unix_time as _unix_time
from moto.core.utils import utcnow as _cd_now
from moto.moto_api._internal import mock_random as _random
from moto.opensearchserverless.exceptions import ConflictException as _OsConflict
from moto.opensearchserverless.exceptions import ResourceNotFoundException as _OsNotFound
from moto.opensearchserverless.exceptions import ValidationException as _OsInvalid
from moto.opensearchserverless.responses import OpenSearchServiceServerlessResponse as _OsResp


def _store(backend, attr):
    """Per-backend storage for what moto does not model."""
    if not hasattr(backend, attr):
        setattr(backend, attr, {})
    return getattr(backend, attr)


def _iso_now():
    return _dt.now(_tz.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---- 1. AppConfig environments --------------------------------------------

_ac_urls.url_paths.update(
    {
        "{0}/applications/(?P<app_id>[^/]+)/environments$": _AcResp.dispatch,
        "{0}/applications/(?P<app_id>[^/]+)/environments/(?P<env_id>[^/]+)$": _AcResp.dispatch,
        "{0}/deploymentstrategies$": _AcResp.dispatch,
        "{0}/deploymentstrategies/(?P<strategy_id>[^/]+)$": _AcResp.dispatch,
        "{0}/deployementstrategies/(?P<strategy_id>[^/]+)$": _AcResp.dispatch,
    }
)


class _AcNotFound(_JsonError):
    code = 404

    def __init__(self, what):
        super().__init__("ResourceNotFoundException", f"{what} not found")


def _ac_env_view(env):
    return {
        "ApplicationId": env["ApplicationId"],
        "Id": env["Id"],
        "Name": env["Name"],
        "Description": env["Description"],
        "State": env["State"],
        "Monitors": env["Monitors"],
    }


def _ac_envs(self, app_id):
    b = self.appconfig_backend
    b.get_application(app_id)  # ResourceNotFoundException for a missing app
    return _store(b, "iac_environments").setdefault(app_id, {})


def _ac_env(self):
    env = _ac_envs(self, self._get_param("ApplicationId")).get(self._get_param("EnvironmentId"))
    if env is None:
        raise _AcNotFound("Environment")
    return env


def create_environment(self):
    app_id = self._get_param("ApplicationId")
    envs = _ac_envs(self, app_id)
    env_id = _random.get_random_hex(7)
    env = {
        "ApplicationId": app_id,
        "Id": env_id,
        "Name": self._get_param("Name"),
        "Description": self._get_param("Description"),
        "State": "READY_FOR_DEPLOYMENT",
        "Monitors": self._get_param("Monitors") or [],
    }
    envs[env_id] = env
    arn = f"arn:aws:appconfig:{self.region}:{self.current_account}:application/{app_id}/environment/{env_id}"
    self.appconfig_backend.tag_resource(arn, self._get_param("Tags") or {})
    return 201, {"status": 201}, _json.dumps(_ac_env_view(env))


def get_environment(self):
    return _json.dumps(_ac_env_view(_ac_env(self)))


def update_environment(self):
    env = _ac_env(self)
    for key in ("Name", "Description", "Monitors"):
        value = self._get_param(key)
        if value is not None:
            env[key] = value
    return _json.dumps(_ac_env_view(env))


def delete_environment(self):
    envs = _ac_envs(self, self._get_param("ApplicationId"))
    if envs.pop(self._get_param("EnvironmentId"), None) is None:
        raise _AcNotFound("Environment")
    return 204, {"status": 204}, ""


def list_environments(self):
    envs = _ac_envs(self, self._get_param("ApplicationId"))
    return _json.dumps({"Items": [_ac_env_view(e) for e in envs.values()]})


# ---- 2. AppConfig deployment strategies ------------------------------------

_AC_STRATEGY_KEYS = (
    "Name",
    "Description",
    "DeploymentDurationInMinutes",
    "GrowthType",
    "GrowthFactor",
    "FinalBakeTimeInMinutes",
    "ReplicateTo",
)


def _ac_strategy(self):
    sid = self._get_param("DeploymentStrategyId")
    s = _store(self.appconfig_backend, "iac_strategies").get(sid)
    if s is None:
        raise _AcNotFound("DeploymentStrategy")
    return s


def create_deployment_strategy(self):
    sid = _random.get_random_hex(7)
    s = {k: self._get_param(k) for k in _AC_STRATEGY_KEYS}
    s["Id"] = sid
    s["GrowthType"] = s["GrowthType"] or "LINEAR"
    s["FinalBakeTimeInMinutes"] = s["FinalBakeTimeInMinutes"] or 0
    s["ReplicateTo"] = s["ReplicateTo"] or "NONE"
    _store(self.appconfig_backend, "iac_strategies")[sid] = s
    arn = f"arn:aws:appconfig:{self.region}:{self.current_account}:deploymentstrategy/{sid}"
    self.appconfig_backend.tag_resource(arn, self._get_param("Tags") or {})
    return 201, {"status": 201}, _json.dumps(s)


def get_deployment_strategy(self):
    return _json.dumps(_ac_strategy(self))


def update_deployment_strategy(self):
    s = _ac_strategy(self)
    # UpdateDeploymentStrategy takes neither the name nor ReplicateTo.
    for key in ("Description", "DeploymentDurationInMinutes", "GrowthType", "GrowthFactor", "FinalBakeTimeInMinutes"):
        value = self._get_param(key)
        if value is not None:
            s[key] = value
    return _json.dumps(s)


def delete_deployment_strategy(self):
    strategies = _store(self.appconfig_backend, "iac_strategies")
    if strategies.pop(self._get_param("DeploymentStrategyId"), None) is None:
        raise _AcNotFound("DeploymentStrategy")
    return 204, {"status": 204}, ""


def list_deployment_strategies(self):
    return _json.dumps({"Items": list(_store(self.appconfig_backend, "iac_strategies").values())})


# ---- 3. AppConfig lists ----------------------------------------------------


def list_applications(self):
    apps = self.appconfig_backend.applications.values()
    return _json.dumps({"Items": [a.to_json() for a in apps]})


def list_hosted_configuration_versions(self):
    profile = self.appconfig_backend.get_configuration_profile(
        self._get_param("ApplicationId"), self._get_param("ConfigurationProfileId")
    )
    label = self._get_param("VersionLabel")
    items = [
        {
            "ApplicationId": v.app_id,
            "ConfigurationProfileId": v.config_id,
            "VersionNumber": v.version,
            "Description": v.description,
            "ContentType": v.content_type,
            "VersionLabel": v.version_label,
        }
        for v in sorted(profile.config_versions.values(), key=lambda v: -v.version)
        if label is None or v.version_label == label
    ]
    return _json.dumps({"Items": [{k: x for k, x in i.items() if x is not None} for i in items]})


for _f in (
    create_environment,
    get_environment,
    update_environment,
    delete_environment,
    list_environments,
    create_deployment_strategy,
    get_deployment_strategy,
    update_deployment_strategy,
    delete_deployment_strategy,
    list_deployment_strategies,
    list_applications,
    list_hosted_configuration_versions,
):
    setattr(_AcResp, _f.__name__, _f)

# ---- 4. CodeDeploy deletes and group updates -------------------------------


class _CdError(_JsonError):
    code = 400


def _cd_delete_application(self):
    b = self.codedeploy_backend
    name = self._get_param("applicationName")
    if name not in b.applications:
        raise _CdAppMissing(f"The application {name} does not exist with the user or AWS account.")
    del b.applications[name]
    for group in b.deployment_groups.pop(name, {}):
        b.tagger.delete_all_tags_for_resource(b._deployment_group_arn(name, group))
    b.tagger.delete_all_tags_for_resource(b._application_arn(name))
    return _CdEmpty()


def _cd_group(self, app, name):
    b = self.codedeploy_backend
    if app not in b.applications:
        raise _CdAppMissing(f"The application {app} does not exist with the user or AWS account.")
    group = b.deployment_groups.get(app, {}).get(name)
    if group is None:
        raise _CdGroupMissing(f"The deployment group {name} does not exist with the user or AWS account.")
    return group


# UpdateDeploymentGroup parameter -> the group's attribute.
_CD_GROUP_FIELDS = {
    "deploymentConfigName": "deployment_config_name",
    "ec2TagFilters": "ec2_tag_filters",
    "onPremisesInstanceTagFilters": "on_premises_instance_tag_filters",
    "autoScalingGroups": "auto_scaling_groups",
    "serviceRoleArn": "service_role_arn",
    "triggerConfigurations": "trigger_configurations",
    "alarmConfiguration": "alarm_configuration",
    "autoRollbackConfiguration": "auto_rollback_configuration",
    "outdatedInstancesStrategy": "outdated_instances_strategy",
    "deploymentStyle": "deployment_style",
    "blueGreenDeploymentConfiguration": "blue_green_deployment_configuration",
    "loadBalancerInfo": "load_balancer_info",
    "ec2TagSet": "ec2_tag_set",
    "ecsServices": "ecs_services",
    "onPremisesTagSet": "on_premises_tag_set",
    "terminationHookEnabled": "termination_hook_enabled",
}


def _cd_update_deployment_group(self):
    app = self._get_param("applicationName")
    current = self._get_param("currentDeploymentGroupName")
    group = _cd_group(self, app, current)
    # Omitted settings are left as they were.
    for param, attr in _CD_GROUP_FIELDS.items():
        value = self._get_param(param)
        if value is not None:
            setattr(group, attr, value)
    new = self._get_param("newDeploymentGroupName")
    if new and new != current:
        groups = self.codedeploy_backend.deployment_groups[app]
        groups[new] = groups.pop(current)
        group.deployment_group_name = new
    return _CdResult({"hooksNotCleanedUp": []})


def _cd_delete_deployment_group(self):
    b = self.codedeploy_backend
    app, name = self._get_param("applicationName"), self._get_param("deploymentGroupName")
    _cd_group(self, app, name)
    del b.deployment_groups[app][name]
    b.tagger.delete_all_tags_for_resource(b._deployment_group_arn(app, name))
    return _CdResult({"hooksNotCleanedUp": []})


# ---- 5. CodeDeploy deployment configurations -------------------------------


def _cd_predefined():
    def routing(kind, pct=None, mins=None):
        r = {"type": kind}
        if kind == "TimeBasedCanary":
            r["timeBasedCanary"] = {"canaryPercentage": pct, "canaryInterval": mins}
        elif kind == "TimeBasedLinear":
            r["timeBasedLinear"] = {"linearPercentage": pct, "linearInterval": mins}
        return r

    configs = {}
    for platform in ("Lambda", "ECS"):
        configs[f"CodeDeployDefault.{platform}AllAtOnce"] = (platform, routing("AllAtOnce"), None)
        for pct, mins in ((10, 5), (10, 10), (10, 15), (10, 30)):
            name = f"CodeDeployDefault.{platform}Canary{pct}Percent{mins}Minutes"
            configs[name] = (platform, routing("TimeBasedCanary", pct, mins), None)
        for pct, mins in ((10, 1), (10, 2), (10, 3), (10, 10)):
            every = "1Minute" if mins == 1 else f"{mins}Minutes"
            name = f"CodeDeployDefault.{platform}Linear{pct}PercentEvery{every}"
            configs[name] = (platform, routing("TimeBasedLinear", pct, mins), None)
    configs["CodeDeployDefault.OneAtATime"] = ("Server", None, {"type": "HOST_COUNT", "value": 1})
    configs["CodeDeployDefault.HalfAtATime"] = ("Server", None, {"type": "FLEET_PERCENT", "value": 50})
    configs["CodeDeployDefault.AllAtOnce"] = ("Server", None, {"type": "HOST_COUNT", "value": 0})
    return configs


_CD_PREDEFINED = _cd_predefined()


def _cd_config_info(name, c):
    info = {"deploymentConfigName": name, "computePlatform": c["computePlatform"]}
    for key in ("deploymentConfigId", "createTime", "minimumHealthyHosts", "trafficRoutingConfig"):
        if c.get(key) is not None:
            info[key] = c[key]
    return info


def _cd_create_deployment_config(self):
    configs = _store(self.codedeploy_backend, "iac_deployment_configs")
    name = self._get_param("deploymentConfigName")
    if name in configs or name in _CD_PREDEFINED:
        raise _CdError("DeploymentConfigAlreadyExistsException", f"A deployment configuration named {name} already exists.")
    if name.startswith("CodeDeployDefault."):
        raise _CdError("InvalidDeploymentConfigNameException", "The deployment configuration name is invalid.")
    config = {
        "deploymentConfigId": str(_random.uuid4()),
        "computePlatform": self._get_param("computePlatform") or "Server",
        "minimumHealthyHosts": self._get_param("minimumHealthyHosts"),
        "trafficRoutingConfig": self._get_param("trafficRoutingConfig"),
        "createTime": _cd_now(),
    }
    configs[name] = config
    return _CdResult({"deploymentConfigId": config["deploymentConfigId"]})


def _cd_get_deployment_config(self):
    name = self._get_param("deploymentConfigName")
    config = _store(self.codedeploy_backend, "iac_deployment_configs").get(name)
    if config is None and name in _CD_PREDEFINED:
        platform, routing, healthy = _CD_PREDEFINED[name]
        config = {"computePlatform": platform, "trafficRoutingConfig": routing, "minimumHealthyHosts": healthy}
    if config is None:
        raise _CdError("DeploymentConfigDoesNotExistException", f"The deployment configuration {name} does not exist.")
    return _CdResult({"deploymentConfigInfo": _cd_config_info(name, config)})


def _cd_delete_deployment_config(self):
    b = self.codedeploy_backend
    configs = _store(b, "iac_deployment_configs")
    name = self._get_param("deploymentConfigName")
    if name in _CD_PREDEFINED:
        raise _CdError("InvalidOperationException", "Predefined deployment configurations cannot be deleted.")
    if name not in configs:
        raise _CdError("DeploymentConfigDoesNotExistException", f"The deployment configuration {name} does not exist.")
    if any(str(g.deployment_config_name) == name for groups in b.deployment_groups.values() for g in groups.values()):
        raise _CdError("DeploymentConfigInUseException", f"The deployment configuration {name} is in use.")
    del configs[name]
    return _CdEmpty()


_CdResp.delete_application = _cd_delete_application
_CdResp.update_deployment_group = _cd_update_deployment_group
_CdResp.delete_deployment_group = _cd_delete_deployment_group
_CdResp.create_deployment_config = _cd_create_deployment_config
_CdResp.get_deployment_config = _cd_get_deployment_config
_CdResp.delete_deployment_config = _cd_delete_deployment_config

# ---- 6. OpenSearch Serverless policies and collection updates -------------


def _os_delete_security_policy(self):
    params = _json.loads(self.body)
    b = self.opensearchserverless_backend
    for token, sp in list(b.security_policies.items()):
        if sp.name == params.get("name") and sp.type == params.get("type"):
            del b.security_policies[token]
            return _json.dumps({})
    raise _OsNotFound(f"Policy with name {params.get('name')} and type {params.get('type')} is not found")


def _os_now():
    return int(_unix_time() * 1000)


def _os_access_view(p, with_policy=True):
    view = {k: v for k, v in p.items() if v is not None and (with_policy or k != "policy")}
    return view


def _os_access_policies(self):
    return _store(self.opensearchserverless_backend, "iac_access_policies")


def _os_create_access_policy(self):
    params = _json.loads(self.body)
    policies = _os_access_policies(self)
    name, kind = params.get("name"), params.get("type")
    if (kind, name) in policies:
        raise _OsConflict(f"Policy with name {name} and type {kind} already exists")
    if kind != "data":
        raise _OsInvalid(f"1 validation error detected: Value '{kind}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [data]")
    now = _os_now()
    policy = {
        "name": name,
        "type": kind,
        "description": params.get("description"),
        "policy": _json.loads(params.get("policy")),
        "policyVersion": _random.get_random_string(20),
        "createdDate": now,
        "lastModifiedDate": now,
    }
    policies[(kind, name)] = policy
    return _json.dumps({"accessPolicyDetail": _os_access_view(policy)})


def _os_access_policy(self, params):
    policy = _os_access_policies(self).get((params.get("type"), params.get("name")))
    if policy is None:
        raise _OsNotFound(f"Policy with name {params.get('name')} and type {params.get('type')} is not found")
    return policy


def _os_get_access_policy(self):
    return _json.dumps({"accessPolicyDetail": _os_access_view(_os_access_policy(self, _json.loads(self.body)))})


def _os_update_access_policy(self):
    params = _json.loads(self.body)
    policy = _os_access_policy(self, params)
    # As for security policies: the caller must quote the current version.
    if params.get("policyVersion") != policy["policyVersion"]:
        raise _OsInvalid("Policy version specified in the request refers to an older version and policy has since changed")
    if params.get("policy") is not None and _json.loads(params["policy"]) != policy["policy"]:
        policy["policy"] = _json.loads(params["policy"])
        policy["policyVersion"] = _random.get_random_string(20)
        policy["lastModifiedDate"] = _os_now()
    if params.get("description") is not None:
        policy["description"] = params["description"]
    return _json.dumps({"accessPolicyDetail": _os_access_view(policy)})


def _os_delete_access_policy(self):
    params = _json.loads(self.body)
    _os_access_policy(self, params)
    del _os_access_policies(self)[(params.get("type"), params.get("name"))]
    return _json.dumps({})


def _os_list_access_policies(self):
    params = _json.loads(self.body)
    summaries = [_os_access_view(p, with_policy=False) for (k, _), p in _os_access_policies(self).items() if k == params.get("type")]
    return _json.dumps({"accessPolicySummaries": summaries})


def _os_update_collection(self):
    params = _json.loads(self.body)
    collection = self.opensearchserverless_backend.collections.get(params.get("id"))
    if collection is None:
        raise _OsNotFound(f"Collection with ID {params.get('id')} cannot be found.")
    if params.get("description") is not None:
        collection.description = params["description"]
    collection.last_modified_date = _os_now()
    detail = collection.to_dict()
    detail.pop("kmsKeyArn", None)
    detail.pop("standbyReplicas", None)
    return _json.dumps({"updateCollectionDetail": detail})


_OsResp.delete_security_policy = _os_delete_security_policy
_OsResp.create_access_policy = _os_create_access_policy
_OsResp.get_access_policy = _os_get_access_policy
_OsResp.update_access_policy = _os_update_access_policy
_OsResp.delete_access_policy = _os_delete_access_policy
_OsResp.list_access_policies = _os_list_access_policies
_OsResp.update_collection = _os_update_collection

# ---- 7. Bedrock knowledge-base updates and data sources --------------------


def _br_update_knowledge_base(self):
    params = _json.loads(self.body)
    kb = self.bedrockagent_backend.get_knowledge_base(self.path.rstrip("/").split("/")[-1])
    # AWS: "You can't change the knowledgeBaseConfiguration or
    # storageConfiguration fields, so you must specify the same
    # configurations as when you created the knowledge base."
    for key, current in (
        ("knowledgeBaseConfiguration", kb.knowledge_base_configuration),
        ("storageConfiguration", kb.storage_configuration),
    ):
        if params.get(key) is not None and params[key] != current:
            raise _BrInvalid(f"The {key} of a knowledge base cannot be changed")
    kb.name = params.get("name", kb.name)
    kb.description = params.get("description")
    kb.role_arn = params.get("roleArn", kb.role_arn)
    kb.updated_at = _unix_time()
    return 202, {"status": 202}, _json.dumps({"knowledgeBase": kb.to_dict()})


def _br_path_ids(self):
    # /knowledgebases/{kb}/datasources/[{ds}]
    parts = self.path.split("?")[0].rstrip("/").split("/")
    kb = parts[2]
    ds = parts[4] if len(parts) > 4 else None
    return kb, ds


def _br_sources(self, kb):
    self.bedrockagent_backend.get_knowledge_base(kb)  # ResourceNotFoundException
    return _store(self.bedrockagent_backend, "iac_data_sources").setdefault(kb, {})


def _br_source(self):
    kb, ds = _br_path_ids(self)
    source = _br_sources(self, kb).get(ds)
    if source is None:
        raise _BrNotFound(f"Data source {ds} not found")
    return source


def _br_create_data_source(self):
    params = _json.loads(self.body)
    kb, _ = _br_path_ids(self)
    sources = _br_sources(self, kb)
    ds = _random.get_random_string(10, include_digits=True, lower_case=False).upper()
    now = _iso_now()
    source = {
        "knowledgeBaseId": kb,
        "dataSourceId": ds,
        "name": params.get("name"),
        "status": "AVAILABLE",
        "description": params.get("description"),
        "dataSourceConfiguration": params.get("dataSourceConfiguration"),
        "vectorIngestionConfiguration": params.get("vectorIngestionConfiguration")
        or {
            # AWS's default when none is given.
            "chunkingConfiguration": {
                "chunkingStrategy": "FIXED_SIZE",
                "fixedSizeChunkingConfiguration": {"maxTokens": 300, "overlapPercentage": 20},
            }
        },
        "dataDeletionPolicy": params.get("dataDeletionPolicy") or "DELETE",
        "createdAt": now,
        "updatedAt": now,
    }
    sources[ds] = source
    return _json.dumps({"dataSource": {k: v for k, v in source.items() if v is not None}})


def _br_get_data_source(self):
    return _json.dumps({"dataSource": {k: v for k, v in _br_source(self).items() if v is not None}})


def _br_update_data_source(self):
    params = _json.loads(self.body)
    source = _br_source(self)
    # AWS: "You can't change the chunkingConfiguration after you create the
    # data source connector."
    new_chunking = (params.get("vectorIngestionConfiguration") or {}).get("chunkingConfiguration")
    old_chunking = (source.get("vectorIngestionConfiguration") or {}).get("chunkingConfiguration")
    if new_chunking is not None and new_chunking != old_chunking:
        raise _BrInvalid("The chunkingConfiguration of a data source cannot be changed")
    # A PUT of the whole data source: an omitted description is none.
    source["description"] = params.get("description")
    for key in ("name", "dataSourceConfiguration", "dataDeletionPolicy"):
        if key in params:
            source[key] = params[key]
    source["updatedAt"] = _iso_now()
    return _json.dumps({"dataSource": {k: v for k, v in source.items() if v is not None}})


def _br_delete_data_source(self):
    kb, ds = _br_path_ids(self)
    _br_source(self)
    del _br_sources(self, kb)[ds]
    return 202, {"status": 202}, _json.dumps({"knowledgeBaseId": kb, "dataSourceId": ds, "status": "DELETING"})


def _br_list_data_sources(self):
    kb, _ = _br_path_ids(self)
    summaries = [
        {k: s[k] for k in ("knowledgeBaseId", "dataSourceId", "name", "status", "description", "updatedAt") if s.get(k) is not None}
        for s in _br_sources(self, kb).values()
    ]
    return _json.dumps({"dataSourceSummaries": summaries})


_BrResp.update_knowledge_base = _br_update_knowledge_base
_BrResp.create_data_source = _br_create_data_source
_BrResp.get_data_source = _br_get_data_source
_BrResp.update_data_source = _br_update_data_source
_BrResp.delete_data_source = _br_delete_data_source
_BrResp.list_data_sources = _br_list_data_sources

# ElastiCache calls moto 5.2.5 lacks or keeps incompletely, emulated after
# AWS's documented behaviour so iac-aws's ElastiCache resources can be tested
# end to end against the emulator. Test harness only (`iac_tests::moto`
# runs it before `moto_fixes.py` starts the server). The gaps, by number:
#
#  1. No cache parameter groups at all (Create/Describe/DescribeCacheParameters/
#     Modify/Reset/Delete), and tags on their ARNs are refused.
#  2. No ModifyCacheSubnetGroup or DeleteCacheSubnetGroup.
#  3. A replication group's member clusters are never created, so
#     DescribeCacheClusters cannot report what AWS reports only per cluster:
#     engine version, subnet group, security groups, parameter group.
#  4. NumCacheClusters is ignored: a group without cluster mode gets one node
#     unless ReplicasPerNodeGroup is given.
#  5. A node group has no ReaderEndpoint.
#  6. ModifyReplicationGroup keeps only the description, node type, failover,
#     Multi-AZ and snapshot retention.
#  7. DeleteReplicationGroup leaves the group `deleting` for ever.
#  8. No IncreaseReplicaCount, DecreaseReplicaCount or
#     ModifyReplicationGroupShardConfiguration.
#  9. Groups are `available` at once: AWS shows `creating` / `modifying` /
#     `deleting` first, which callers must wait through. Emulated for one
#     describe each.
# 10. Multi-AZ without failover or without a replica is accepted; AWS
#     refuses it (InvalidParameterCombination).
import re as _re

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult as _Result
from moto.core.responses import EmptyResult as _Empty
from moto.core.utils import utcnow as _utcnow
from moto.elasticache import models as _ec
from moto.elasticache.responses import ElastiCacheResponse as _Resp


class _Fault(ServiceException):
    """An ElastiCache error (defined outside moto's packages, so moto finds
    its code in the calling service's model rather than by module name)."""


_ec_init = _ec.ElastiCacheBackend.__init__


def _backend_init(self, region_name, account_id):
    _ec_init(self, region_name, account_id)
    self.arn_regex = _re.compile(
        r"^arn:aws:elasticache:.*:[0-9]*:"
        r"(cluster|snapshot|subnetgroup|parametergroup|replicationgroup|user):.*$"
    )  # 1
    self.iac_parameter_groups = {}


_ec.ElastiCacheBackend.__init__ = _backend_init


# ---- 1. parameter groups ----------------------------------------------------


def _pg_view(pg):
    return {
        "CacheParameterGroupName": pg["name"],
        "CacheParameterGroupFamily": pg["family"],
        "Description": pg["description"],
        "IsGlobal": False,
        "ARN": pg["arn"],
    }


def _pg(self, name):
    b = self.elasticache_backend
    if name in b.iac_parameter_groups:
        return b.iac_parameter_groups[name]
    m = _re.match(r"^default\.(redis\d+(?:\.\d+|\.x)?)(\.cluster\.on)?$", name or "")
    if m:
        arn = f"arn:aws:elasticache:{self.region}:{self.current_account}:parametergroup:{name}"
        return {"name": name, "family": m.group(1), "description": "Default parameter group", "arn": arn, "params": {}}
    raise _Fault("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.")


def _in_use(b, attr, name):
    return any(getattr(rg, attr, None) == name for rg in b.replication_groups.values())


def create_cache_parameter_group(self):
    b = self.elasticache_backend
    name = self._get_param("CacheParameterGroupName").lower()
    if name in b.iac_parameter_groups or name.startswith("default."):
        raise _Fault("CacheParameterGroupAlreadyExists", f"Parameter group {name} already exists.")
    arn = f"arn:aws:elasticache:{self.region}:{self.current_account}:parametergroup:{name}"
    pg = {
        "name": name,
        "family": self._get_param("CacheParameterGroupFamily"),
        "description": self._get_param("Description"),
        "arn": arn,
        "params": {},
    }
    b.iac_parameter_groups[name] = pg
    tags = self._get_param("Tags", [])
    if tags:
        b.tagging_service.tag_resource(arn, tags)
    return _Result({"CacheParameterGroup": _pg_view(pg)})


def describe_cache_parameter_groups(self):
    name = self._get_param("CacheParameterGroupName")
    groups = [_pg(self, name)] if name else list(self.elasticache_backend.iac_parameter_groups.values())
    return _Result({"CacheParameterGroups": [_pg_view(g) for g in groups]})


def describe_cache_parameters(self):
    pg = _pg(self, self._get_param("CacheParameterGroupName"))
    # Only what the user set is emulated; engine defaults are not.
    source = self._get_param("Source")
    params = [
        {
            "ParameterName": k,
            "ParameterValue": v,
            "Source": "user",
            "DataType": "string",
            "IsModifiable": True,
            "ChangeType": "immediate",
        }
        for k, v in sorted(pg["params"].items())
        if source in (None, "user")
    ]
    return _Result({"Parameters": params})


def modify_cache_parameter_group(self):
    name = self._get_param("CacheParameterGroupName")
    pg = _pg(self, name)
    if name.startswith("default."):
        raise _Fault("InvalidParameterValue", "A default parameter group cannot be modified.")
    for p in self._get_param("ParameterNameValues", []):
        pg["params"][p["ParameterName"]] = p["ParameterValue"]
    return _Result({"CacheParameterGroupName": name})


def reset_cache_parameter_group(self):
    name = self._get_param("CacheParameterGroupName")
    pg = _pg(self, name)
    if self._get_bool_param("ResetAllParameters"):
        pg["params"].clear()
    for p in self._get_param("ParameterNameValues", []):
        pg["params"].pop(p["ParameterName"], None)
    return _Result({"CacheParameterGroupName": name})


def delete_cache_parameter_group(self):
    b = self.elasticache_backend
    name = self._get_param("CacheParameterGroupName")
    _pg(self, name)
    if name.startswith("default."):
        raise _Fault("InvalidParameterValue", "A default parameter group cannot be deleted.")
    if _in_use(b, "cache_parameter_group_name", name):
        raise _Fault("InvalidCacheParameterGroupState", f"Parameter group {name} is in use.")
    del b.iac_parameter_groups[name]
    return _Empty()


# ---- 2. subnet groups -------------------------------------------------------


def modify_cache_subnet_group(self):
    b = self.elasticache_backend
    name = self._get_param("CacheSubnetGroupName")
    old = b.describe_cache_subnet_groups(name)[0]
    new = _ec.CacheSubnetGroup(
        account_id=self.current_account,
        region_name=self.region,
        cache_subnet_group_name=name,
        cache_subnet_group_description=self._get_param("CacheSubnetGroupDescription")
        or old.cache_subnet_group_description,
        subnet_ids=self._get_param("SubnetIds") or old.subnet_ids,
        tags=old.tags,
    )
    b.cache_subnet_groups[name] = new
    return _Result({"CacheSubnetGroup": new})


def delete_cache_subnet_group(self):
    b = self.elasticache_backend
    name = self._get_param("CacheSubnetGroupName")
    b.describe_cache_subnet_groups(name)
    if _in_use(b, "cache_subnet_group_name", name):
        raise _Fault("CacheSubnetGroupInUse", f"Cache subnet group {name} is currently in use by a cache cluster.")
    del b.cache_subnet_groups[name]
    return _Empty()


# ---- 3-10. replication groups -----------------------------------------------


def _full_version(v):
    return v + ".0" if v and v.count(".") == 1 else v


def _check_multi_az(rg):
    replicas = len(rg.member_clusters) // max(len(rg.node_groups), 1) - 1
    if rg.multi_az == "enabled" and (rg.automatic_failover != "enabled" or replicas < 1):
        raise _Fault(
            "InvalidParameterCombination",
            "Multi-AZ requires automatic failover and at least one read replica.",
        )  # 10


def _sync_members(b, rg):
    """The member clusters AWS would show for the group (3) and its reader endpoint (5)."""
    for ng in rg.node_groups:
        if "reader_endpoint_address" in ng:
            ng["reader_endpoint"] = {"address": ng["reader_endpoint_address"], "port": rg.port}
    stale = [c for c, cc in b.cache_clusters.items() if getattr(cc, "replication_group_id", None) == rg.replication_group_id]
    for c in stale:
        del b.cache_clusters[c]
    for cid in rg.member_clusters:
        cc = _ec.CacheCluster(
            account_id=b.account_id,
            region_name=b.region_name,
            cache_cluster_id=cid,
            cache_node_type=rg.cache_node_type,
            replication_group_id=rg.replication_group_id,
            az_mode=None,
            preferred_availability_zone=None,
            num_cache_nodes=1,
            engine="redis",
            engine_version=_full_version(rg.engine_version),
            cache_parameter_group_name=rg.cache_parameter_group_name,
            cache_subnet_group_name=rg.cache_subnet_group_name,
            transit_encryption_enabled=rg.transit_encryption_enabled,
            network_type=None,
            ip_discovery=None,
            snapshot_name=None,
            preferred_maintenance_window=None,
            port=rg.port,
            notification_topic_arn=None,
            auto_minor_version_upgrade=True,
            snapshot_retention_limit=rg.snapshot_retention_limit,
            snapshot_window=rg.snapshot_window,
            auth_token=None,
            outpost_mode=None,
            preferred_outpost_arn=None,
            preferred_availability_zones=None,
            cache_security_group_names=None,
            security_group_ids=rg.security_group_ids,
            tags=None,
            snapshot_arns=None,
            preferred_outpost_arns=None,
            log_delivery_configurations=[],
            cache_node_ids_to_remove=None,
            cache_node_ids_to_reboot=None,
        )
        cc.security_groups = [{"SecurityGroupId": s, "Status": "active"} for s in rg.security_group_ids or []]
        cc.cache_parameter_group = {
            "CacheParameterGroupName": rg.cache_parameter_group_name,
            "ParameterApplyStatus": "in-sync",
        }
        cc.at_rest_encryption_enabled = rg.at_rest_encryption_enabled
        cc.auth_token_enabled = rg.auth_token_enabled
        b.cache_clusters[cid] = cc


def _transition(rg, status):
    rg.status = status
    rg.iac_describes_left = 1  # 9


_create_rg = _ec.ElastiCacheBackend.create_replication_group


def _create_replication_group(self, **kw):
    if kw.get("cluster_mode") != "enabled" and kw.get("num_cache_clusters") and not kw.get("replicas_per_node_group"):
        kw["replicas_per_node_group"] = kw["num_cache_clusters"] - 1  # 4
    pg = kw.get("cache_parameter_group_name")
    if pg and not pg.startswith("default.") and pg not in self.iac_parameter_groups:
        raise _Fault("CacheParameterGroupNotFound", f"CacheParameterGroup {pg} not found.")
    if kw.get("cache_subnet_group_name"):
        self.describe_cache_subnet_groups(kw["cache_subnet_group_name"])
    if kw.get("auth_token") and not kw.get("transit_encryption_enabled"):
        raise _Fault("InvalidParameterValue", "TransitEncryptionEnabled must be true to use an AuthToken.")
    rg = _create_rg(self, **kw)
    try:
        _check_multi_az(rg)
    except _Fault:
        del self.replication_groups[rg.replication_group_id]
        raise
    major = (rg.engine_version or "7").split(".")[0]
    suffix = ".cluster.on" if rg.cluster_mode == "enabled" else ""
    rg.cache_parameter_group_name = pg or f"default.redis{major}{suffix}"
    rg.security_group_ids = rg.security_group_ids or []
    _sync_members(self, rg)
    _transition(rg, "creating")
    return rg


_describe_rgs = _ec.ElastiCacheBackend.describe_replication_groups


def _describe_replication_groups(self, replication_group_id=None):
    groups = _describe_rgs(self, replication_group_id)
    for rg in groups:
        if getattr(rg, "iac_describes_left", 0) > 0:
            rg.iac_describes_left -= 1
        elif rg.status == "deleting":  # 7
            self.replication_groups.pop(rg.replication_group_id, None)
            for c in [c for c, cc in self.cache_clusters.items() if getattr(cc, "replication_group_id", None) == rg.replication_group_id]:
                del self.cache_clusters[c]
            return _describe_rgs(self, replication_group_id)
        elif rg.status in ("creating", "modifying"):
            rg.status = "available"
    return groups


_delete_rg = _ec.ElastiCacheBackend.delete_replication_group


def _delete_replication_group(self, replication_group_id, retain_primary_cluster):
    rg = _delete_rg(self, replication_group_id, retain_primary_cluster)
    _transition(rg, "deleting")
    return rg


_ec.ElastiCacheBackend.create_replication_group = _create_replication_group
_ec.ElastiCacheBackend.describe_replication_groups = _describe_replication_groups
_ec.ElastiCacheBackend.delete_replication_group = _delete_replication_group


def _rg(self):
    b = self.elasticache_backend
    rg = b.describe_replication_groups(self._get_param("ReplicationGroupId"))[0]
    if rg.status != "available":
        raise _Fault("InvalidReplicationGroupState", f"Replication group {rg.replication_group_id} is {rg.status}.")
    return b, rg


def modify_replication_group(self):  # 6
    b, rg = _rg(self)
    description = self._get_param("ReplicationGroupDescription")
    if description is not None:
        rg.description = description
    if self._get_param("CacheNodeType"):
        rg.cache_node_type = self._get_param("CacheNodeType")
    if self._get_param("EngineVersion"):
        rg.engine_version = self._get_param("EngineVersion")
    failover = self._get_bool_param("AutomaticFailoverEnabled")
    multi_az = self._get_bool_param("MultiAZEnabled")
    old = (rg.automatic_failover, rg.multi_az)
    if failover is not None:
        rg.automatic_failover = "enabled" if failover else "disabled"
    if multi_az is not None:
        rg.multi_az = "enabled" if multi_az else "disabled"
    try:
        _check_multi_az(rg)
    except _Fault:
        rg.automatic_failover, rg.multi_az = old
        raise
    if self._get_param("SecurityGroupIds") is not None:
        rg.security_group_ids = self._get_param("SecurityGroupIds")
    pg = self._get_param("CacheParameterGroupName")
    if pg:
        _pg(self, pg)
        rg.cache_parameter_group_name = pg
    if self._get_int_param("SnapshotRetentionLimit") is not None:
        rg.snapshot_retention_limit = self._get_int_param("SnapshotRetentionLimit")
    if self._get_param("SnapshotWindow"):
        rg.snapshot_window = self._get_param("SnapshotWindow")
    token = self._get_param("AuthToken")
    strategy = self._get_param("AuthTokenUpdateStrategy")
    if token:
        if not rg.transit_encryption_enabled:
            raise _Fault("InvalidParameterCombination", "An AUTH token needs transit encryption.")
        rg.auth_token_enabled = True
        rg.auth_token_last_modified_date = _utcnow()
    elif strategy == "DELETE":
        rg.auth_token_enabled = False
    _sync_members(b, rg)
    _transition(rg, "modifying")
    return _Result({"ReplicationGroup": rg})


def _rebuild(b, rg, shards, replicas):
    """The group's nodes laid out again for `shards` of 1 + `replicas` nodes (8)."""
    first = rg.node_groups[0]
    cluster = rg.cluster_mode == "enabled"
    domain = (
        rg.configuration_endpoint["address"][len("clustercfg."):]
        if cluster
        else first["primary_endpoint_address"][len("master."):]
    )
    rg.node_groups, rg.member_clusters, rg.member_clusters_outpost_arns = [], [], []
    for i in range(shards):
        ng = {"node_group_id": f"{i + 1:0>4}", "status": "available", "node_group_members": []}
        if cluster:
            ng["slots"] = "0-5461" if i == 0 else f"{(5460 * i) + (i + 1)}-{(5460 * (i + 1)) + (i + 1)}"
            rg._set_node_members_clusters_enabled(
                member_clusters=rg.member_clusters,
                replication_group_id=rg.replication_group_id,
                replicas_per_node_group=replicas,
                node_group_configuration=[],
                node_group=ng,
                member_clusters_outpost_arns=rg.member_clusters_outpost_arns,
            )
        else:
            for k in ("primary_endpoint_address", "reader_endpoint_address", "port", "primary_endpoint"):
                ng[k] = first[k]
            rg._set_node_members_clusters_disabled(
                member_clusters=rg.member_clusters,
                replication_group_id=rg.replication_group_id,
                replication_group_domain=domain,
                node_group=ng,
                preferred_cache_cluster_azs=[],
                num_cache_clusters=replicas + 1,
                replicas_per_node_group=replicas,
            )
        rg.node_groups.append(ng)
    _check_multi_az(rg)
    _sync_members(b, rg)
    _transition(rg, "modifying")


def _replicas(rg):
    return len(rg.member_clusters) // max(len(rg.node_groups), 1) - 1


def increase_replica_count(self):
    b, rg = _rg(self)
    new = self._get_int_param("NewReplicaCount")
    if new is None or new <= _replicas(rg) or new > 5:
        raise _Fault("InvalidParameterValue", f"NewReplicaCount {new} must exceed the current count and be at most 5.")
    _rebuild(b, rg, len(rg.node_groups), new)
    return _Result({"ReplicationGroup": rg})


def decrease_replica_count(self):
    b, rg = _rg(self)
    new = self._get_int_param("NewReplicaCount")
    if new is None or new >= _replicas(rg) or new < 0:
        raise _Fault("InvalidParameterValue", f"NewReplicaCount {new} must be below the current count.")
    _rebuild(b, rg, len(rg.node_groups), new)
    return _Result({"ReplicationGroup": rg})


def modify_replication_group_shard_configuration(self):
    b, rg = _rg(self)
    if rg.cluster_mode != "enabled":
        raise _Fault("InvalidParameterValue", "Shards can only be changed with cluster mode.")
    count = self._get_int_param("NodeGroupCount")
    remove = self._get_param("NodeGroupsToRemove") or []
    current = [ng["node_group_id"] for ng in rg.node_groups]
    if count < len(current) and len(remove) != len(current) - count:
        raise _Fault("InvalidParameterValue", "NodeGroupsToRemove must name the shards to remove.")
    _rebuild(b, rg, count, _replicas(rg))
    return _Result({"ReplicationGroup": rg})


for _f in (
    create_cache_parameter_group,
    describe_cache_parameter_groups,
    describe_cache_parameters,
    modify_cache_parameter_group,
    reset_cache_parameter_group,
    delete_cache_parameter_group,
    modify_cache_subnet_group,
    delete_cache_subnet_group,
    modify_replication_group,
    increase_replica_count,
    decrease_replica_count,
    modify_replication_group_shard_configuration,
):
    setattr(_Resp, _f.__name__, _f)

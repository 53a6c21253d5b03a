#!/usr/bin/env python3
"""Check, with boto3 as an independent client, what examples/quickstart made.

    verify_quickstart.py present [ENDPOINT]   everything the quickstart compiles to exists, as described
    verify_quickstart.py absent  [ENDPOINT]   none of it exists any more

ENDPOINT is the one URL of every AWS service (a moto server); without it the
environment variable MERIDIAN_AWS_ENDPOINT, then AWS_ENDPOINT_URL, is used.
There is deliberately no default: this script never talks to real AWS by accident.

Prints one line per check and exits 1 if any check failed (2 on bad usage,
3 if the endpoint cannot be reached).
"""

import argparse
import os
import sys

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
except ImportError as e:  # pragma: no cover
    sys.exit(f"verify_quickstart.py needs boto3 in {sys.executable}: {e}")

PRIMARY = "us-east-1"
SECONDARY = "us-west-2"
BUCKETS = {
    PRIMARY: "meridian-quickstart-checkout-us-east-1",
    SECONDARY: "meridian-quickstart-checkout-us-west-2",
}
ROLE = "meridian-checkout-replication"
ROLE_POLICY = "replication"
TABLE = "checkout"
HASH_KEY = "order_id"
ZONE = "checkout.example.com"
HEALTH_CHECK = {
    "FullyQualifiedDomainName": "api-use1.checkout.example.com",
    "Port": 443,
    "ResourcePath": "/healthz",
    "Type": "HTTPS",
    "RequestInterval": 10,
    "FailureThreshold": 3,
}
RECORD = "api.checkout.example.com"
FAILOVER = {
    # set identifier: (failover, target, has health check)
    "primary": ("PRIMARY", "api-use1.checkout.example.com", True),
    "secondary": ("SECONDARY", "api-usw2.checkout.example.com", False),
}
TAGS = {
    "cost-centre": "cc-1234",
    "managed-by": "meridian",
    "service": "checkout",
    "meridian:resource": "meridian_region_pair.checkout",
}


class Checker:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print(f"  ok    {what}")
        else:
            self.failures.append(f"{what}: {detail}" if detail else what)
            print(f"  FAIL  {what}" + (f"  ({detail})" if detail else ""))
        return ok

    def section(self, title):
        print(f"{title}:")


def error_code(e):
    return e.response.get("Error", {}).get("Code", "") if isinstance(e, ClientError) else ""


def strip_dot(name):
    return name[:-1] if name.endswith(".") else name


def missing_tags(tags):
    """Expected tags that are absent or different; returns a readable string or ''."""
    bad = []
    for k, v in TAGS.items():
        if k not in tags:
            bad.append(f"{k} missing")
        elif tags[k] != v:
            bad.append(f"{k}={tags[k]!r}, want {v!r}")
    return "; ".join(bad)


def tag_dict(pairs):
    return {t["Key"]: t["Value"] for t in pairs or []}


class Clients:
    def __init__(self, endpoint):
        cfg = Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        )
        session = boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name=PRIMARY
        )

        def make(service, region=PRIMARY):
            return session.client(service, region_name=region, endpoint_url=endpoint, config=cfg)

        self.s3 = make("s3")
        self.iam = make("iam")
        self.ddb = {r: make("dynamodb", r) for r in (PRIMARY, SECONDARY)}
        self.r53 = make("route53")
        self.ssm = {r: make("ssm", r) for r in (PRIMARY, SECONDARY)}


def find_zones(c):
    """Hosted zones named checkout.example.com (there should be at most one)."""
    zones, marker = [], {}
    while True:
        page = c.r53.list_hosted_zones(**marker)
        zones += [z for z in page["HostedZones"] if strip_dot(z["Name"]) == ZONE]
        if not page.get("IsTruncated"):
            return zones
        marker = {"Marker": page["NextMarker"]}


def find_health_checks(c):
    """Health checks on api-use1.checkout.example.com."""
    found, marker = [], {}
    while True:
        page = c.r53.list_health_checks(**marker)
        for hc in page["HealthChecks"]:
            if hc["HealthCheckConfig"].get("FullyQualifiedDomainName") == HEALTH_CHECK["FullyQualifiedDomainName"]:
                found.append(hc)
        if not page.get("IsTruncated"):
            return found
        marker = {"Marker": page["NextMarker"]}


def failover_records(c, zone_id):
    records, kw = [], {"HostedZoneId": zone_id}
    while True:
        page = c.r53.list_resource_record_sets(**kw)
        records += [r for r in page["ResourceRecordSets"] if strip_dot(r["Name"]) == RECORD]
        if not page.get("IsTruncated"):
            return records
        kw = {"HostedZoneId": zone_id, "StartRecordName": page["NextRecordName"], "StartRecordType": page["NextRecordType"]}
        if page.get("NextRecordIdentifier"):
            kw["StartRecordIdentifier"] = page["NextRecordIdentifier"]


def short_id(zone_or_check_id):
    return zone_or_check_id.rsplit("/", 1)[-1]


# --------------------------------------------------------------------- present


def present(c, ck):
    ck.section("S3 buckets")
    listed = {b["Name"] for b in c.s3.list_buckets().get("Buckets", [])}
    for region, bucket in BUCKETS.items():
        if not ck.check(bucket in listed, f"bucket {bucket} exists", "not in ListBuckets"):
            continue
        loc = c.s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
        ck.check(loc == region, f"bucket {bucket} is in {region}", f"LocationConstraint is {loc}")
        status = c.s3.get_bucket_versioning(Bucket=bucket).get("Status")
        ck.check(status == "Enabled", f"bucket {bucket} versioning is Enabled", f"status is {status!r}")
        try:
            tags = tag_dict(c.s3.get_bucket_tagging(Bucket=bucket).get("TagSet"))
        except ClientError as e:
            tags, err = {}, error_code(e)
            ck.check(False, f"bucket {bucket} tags", f"GetBucketTagging: {err}")
        else:
            bad = missing_tags(tags)
            ck.check(not bad, f"bucket {bucket} carries the cost tags", bad)

    ck.section("S3 replication")
    src, dst = BUCKETS[PRIMARY], BUCKETS[SECONDARY]
    role_arn = None
    try:
        repl = c.s3.get_bucket_replication(Bucket=src)["ReplicationConfiguration"]
    except ClientError as e:
        ck.check(False, f"bucket {src} has a replication configuration", error_code(e))
    else:
        ck.check(True, f"bucket {src} has a replication configuration")
        role_arn = repl.get("Role", "")
        ck.check(
            role_arn.endswith(":role/" + ROLE) or role_arn.endswith("/" + ROLE),
            f"replication role is IAM role {ROLE}",
            f"role is {role_arn!r}",
        )
        rules = repl.get("Rules", [])
        want = f"arn:aws:s3:::{dst}"
        to_dst = [r for r in rules if r.get("Destination", {}).get("Bucket") == want]
        ck.check(bool(to_dst), f"a replication rule sends objects to {want}",
                 "destinations: " + ", ".join(r.get("Destination", {}).get("Bucket", "?") for r in rules))
        if to_dst:
            ck.check(all(r.get("Status") == "Enabled" for r in to_dst), "that replication rule is Enabled",
                     "status " + ", ".join(str(r.get("Status")) for r in to_dst))
    try:
        c.s3.get_bucket_replication(Bucket=dst)
        ck.check(False, f"bucket {dst} replicates nowhere (active_passive)", "it has a replication configuration")
    except ClientError as e:
        ck.check(error_code(e) == "ReplicationConfigurationNotFoundError",
                 f"bucket {dst} replicates nowhere (active_passive)", error_code(e))

    ck.section("IAM")
    try:
        role = c.iam.get_role(RoleName=ROLE)["Role"]
    except ClientError as e:
        ck.check(False, f"IAM role {ROLE} exists", error_code(e))
    else:
        ck.check(True, f"IAM role {ROLE} exists")
        if role_arn is not None:
            ck.check(role["Arn"] == role_arn, "the replication configuration names that role's ARN",
                     f"role ARN {role['Arn']}, replication role {role_arn}")
        doc = role.get("AssumeRolePolicyDocument")
        ck.check("s3.amazonaws.com" in str(doc), f"IAM role {ROLE} can be assumed by s3.amazonaws.com", str(doc))
        tags = tag_dict(c.iam.list_role_tags(RoleName=ROLE).get("Tags"))
        bad = missing_tags(tags)
        ck.check(not bad, f"IAM role {ROLE} carries the cost tags", bad)
        try:
            pol = c.iam.get_role_policy(RoleName=ROLE, PolicyName=ROLE_POLICY)
        except ClientError as e:
            ck.check(False, f"IAM role policy {ROLE_POLICY} on {ROLE} exists", error_code(e))
        else:
            ck.check(True, f"IAM role policy {ROLE_POLICY} on {ROLE} exists")
            text = str(pol.get("PolicyDocument"))
            ck.check("s3:ReplicateObject" in text and dst in text,
                     f"policy {ROLE_POLICY} allows s3:ReplicateObject into {dst}", text[:300])

    ck.section("DynamoDB")
    try:
        table = c.ddb[PRIMARY].describe_table(TableName=TABLE)["Table"]
    except ClientError as e:
        ck.check(False, f"table {TABLE} exists in {PRIMARY}", error_code(e))
    else:
        ck.check(True, f"table {TABLE} exists in {PRIMARY}")
        keys = [(k["AttributeName"], k["KeyType"]) for k in table.get("KeySchema", [])]
        ck.check(keys == [(HASH_KEY, "HASH")], f"table {TABLE} key schema is {HASH_KEY} (HASH) only", f"key schema {keys}")
        attrs = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
        ck.check(HASH_KEY in attrs, f"table {TABLE} defines attribute {HASH_KEY}", f"attributes {attrs}")
        stream = table.get("StreamSpecification") or {}
        ck.check(stream.get("StreamEnabled") is True, f"table {TABLE} has streams enabled",
                 f"StreamSpecification {stream}")
        ck.check(bool(table.get("LatestStreamArn")), f"table {TABLE} has a stream ARN", "no LatestStreamArn")
        tags = tag_dict(c.ddb[PRIMARY].list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags"))
        bad = missing_tags(tags)
        ck.check(not bad, f"table {TABLE} carries the cost tags", bad)

    ck.section("Route 53")
    zones = find_zones(c)
    zone_id = None
    if ck.check(len(zones) == 1, f"exactly one hosted zone {ZONE}", f"found {len(zones)}"):
        zone_id = short_id(zones[0]["Id"])
        tags = tag_dict(c.r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id)
                        ["ResourceTagSet"].get("Tags"))
        bad = missing_tags(tags)
        ck.check(not bad, f"hosted zone {ZONE} carries the cost tags", bad)

    checks = find_health_checks(c)
    hc_id = None
    fqdn = HEALTH_CHECK["FullyQualifiedDomainName"]
    if ck.check(len(checks) == 1, f"exactly one health check on {fqdn}", f"found {len(checks)}"):
        hc = checks[0]
        hc_id = hc["Id"]
        cfg = hc["HealthCheckConfig"]
        for key, want in HEALTH_CHECK.items():
            if key == "FullyQualifiedDomainName":
                continue
            ck.check(cfg.get(key) == want, f"health check {key} is {want}", f"it is {cfg.get(key)!r}")
        tags = tag_dict(c.r53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=hc_id)
                        ["ResourceTagSet"].get("Tags"))
        bad = missing_tags(tags)
        ck.check(not bad, "health check carries the cost tags", bad)

    if zone_id is None:
        ck.check(False, f"failover records {RECORD}", "no hosted zone to look in")
        return
    records = failover_records(c, zone_id)
    by_id = {r.get("SetIdentifier"): r for r in records}
    ck.check(set(by_id) == set(FAILOVER) and len(records) == len(FAILOVER),
             f"{RECORD} has exactly the failover records {sorted(FAILOVER)}",
             f"found set identifiers {[r.get('SetIdentifier') for r in records]}")
    for ident, (failover, target, with_check) in FAILOVER.items():
        r = by_id.get(ident)
        if not ck.check(r is not None, f"record {RECORD} set identifier {ident!r} exists"):
            continue
        ck.check(r.get("Type") == "CNAME", f"record {ident!r} is a CNAME", f"type {r.get('Type')}")
        ck.check(r.get("Failover") == failover, f"record {ident!r} is failover {failover}", f"failover {r.get('Failover')}")
        values = [strip_dot(v["Value"]) for v in r.get("ResourceRecords", [])]
        ck.check(values == [target], f"record {ident!r} points to {target}", f"values {values}")
        got = r.get("HealthCheckId")
        if with_check:
            ck.check(hc_id is not None and got == hc_id, f"record {ident!r} is guarded by the health check",
                     f"HealthCheckId {got!r}, health check {hc_id!r}")
        else:
            ck.check(not got, f"record {ident!r} has no health check", f"HealthCheckId {got!r}")


# ---------------------------------------------------------------------- absent


def absent(c, ck):
    ck.section("S3 buckets")
    listed = {b["Name"] for b in c.s3.list_buckets().get("Buckets", [])}
    for bucket in BUCKETS.values():
        ck.check(bucket not in listed, f"bucket {bucket} is gone", "still in ListBuckets")
    leftovers = sorted(b for b in listed if b.startswith("meridian-quickstart-"))
    ck.check(not leftovers, "no meridian-quickstart-* bucket is left", ", ".join(leftovers))

    ck.section("IAM")
    try:
        c.iam.get_role(RoleName=ROLE)
        ck.check(False, f"IAM role {ROLE} is gone", "GetRole still finds it")
    except ClientError as e:
        ck.check(error_code(e) == "NoSuchEntity", f"IAM role {ROLE} is gone", error_code(e))
    try:
        c.iam.get_role_policy(RoleName=ROLE, PolicyName=ROLE_POLICY)
        ck.check(False, f"IAM role policy {ROLE_POLICY} is gone", "GetRolePolicy still finds it")
    except ClientError as e:
        ck.check(error_code(e) == "NoSuchEntity", f"IAM role policy {ROLE_POLICY} is gone", error_code(e))

    ck.section("DynamoDB")
    for region in (PRIMARY, SECONDARY):
        try:
            c.ddb[region].describe_table(TableName=TABLE)
            ck.check(False, f"table {TABLE} is gone from {region}", "DescribeTable still finds it")
        except ClientError as e:
            ck.check(error_code(e) == "ResourceNotFoundException", f"table {TABLE} is gone from {region}", error_code(e))

    ck.section("Route 53")
    zones = find_zones(c)
    ck.check(not zones, f"hosted zone {ZONE} is gone", f"{len(zones)} left")
    checks = find_health_checks(c)
    ck.check(not checks, f"health check on {HEALTH_CHECK['FullyQualifiedDomainName']} is gone", f"{len(checks)} left")
    left = []
    for z in zones:
        left += failover_records(c, short_id(z["Id"]))
    ck.check(not left, f"failover records {RECORD} are gone",
             f"{len(left)} left: {[r.get('SetIdentifier') for r in left]}")

    ck.section("SSM (anything meridian records about itself)")
    for region in (PRIMARY, SECONDARY):
        names, kw = [], {"Path": "/meridian/", "Recursive": True}
        while True:
            page = c.ssm[region].get_parameters_by_path(**kw)
            names += [p["Name"] for p in page.get("Parameters", [])]
            if not page.get("NextToken"):
                break
            kw["NextToken"] = page["NextToken"]
        ck.check(not names, f"no SSM parameter under /meridian/ is left in {region}", ", ".join(names))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["present", "absent"])
    ap.add_argument("endpoint", nargs="?", help="AWS endpoint URL (default: $MERIDIAN_AWS_ENDPOINT, then $AWS_ENDPOINT_URL)")
    args = ap.parse_args()
    endpoint = args.endpoint or os.environ.get("MERIDIAN_AWS_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        ap.error("no endpoint: pass one or set MERIDIAN_AWS_ENDPOINT (this script never defaults to real AWS)")

    print(f"verify_quickstart: {args.mode} at {endpoint}")
    ck = Checker()
    try:
        (present if args.mode == "present" else absent)(Clients(endpoint), ck)
    except EndpointConnectionError as e:
        print(f"verify_quickstart: cannot reach {endpoint}: {e}", file=sys.stderr)
        return 3
    except (ClientError, BotoCoreError) as e:
        ck.check(False, "an AWS call failed unexpectedly", str(e))

    if ck.failures:
        print(f"verify_quickstart: {args.mode}: FAILED {len(ck.failures)} of {len(ck.failures) + ck.passed} checks:",
              file=sys.stderr)
        for f in ck.failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    print(f"verify_quickstart: {args.mode}: all {ck.passed} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

package primitive

// The primitive types: what Primitive.Type holds. They are declared here, on
// the drivers' side, so that the compiler (which emits primitives of these
// types) and the drivers (which deploy them) share them without importing
// each other.

// Global is the region of primitives whose service has no region (IAM, Route 53).
const Global = "global"

// Primitive types of the AWS driver set.
const (
	S3Bucket            = "aws_s3_bucket"
	S3BucketReplication = "aws_s3_bucket_replication"
	IAMRole             = "aws_iam_role"
	IAMRolePolicy       = "aws_iam_role_policy"
	DynamoDBTable       = "aws_dynamodb_table"
	DynamoDBReplica     = "aws_dynamodb_table_replica"
	Route53Zone         = "aws_route53_zone"
	Route53HealthCheck  = "aws_route53_health_check"
	Route53Record       = "aws_route53_record"
	SSMParameter        = "aws_ssm_parameter"
)

// Primitive types of AWS Organizations.
const (
	OrganizationsPolicy           = "aws_organizations_policy"
	OrganizationsPolicyAttachment = "aws_organizations_policy_attachment"
)

// Primitive types of AWS Backup.
const (
	BackupVault     = "aws_backup_vault"
	BackupPlan      = "aws_backup_plan"
	BackupSelection = "aws_backup_selection"
)

// Primitive types of capacity reservations.
const (
	EC2CapacityReservation = "aws_ec2_capacity_reservation"
	LaunchTemplate         = "aws_launch_template"
	AutoScalingGroup       = "aws_autoscaling_group"
)

// Primitive types of the Kubernetes driver set. A Kubernetes primitive's
// region is the AWS region name its cluster stands for.
const (
	K8sNamespace             = "k8s_namespace"
	K8sConfigMap             = "k8s_configmap"
	K8sDeployment            = "k8s_deployment"
	K8sService               = "k8s_service"
	K8sPersistentVolumeClaim = "k8s_persistent_volume_claim"
	// K8sResourceQuota and K8sPriorityClass enforce a capacity split.
	K8sResourceQuota = "k8s_resource_quota"
	K8sPriorityClass = "k8s_priority_class"
)

// service is where the requests for a primitive type go: a cloud and one
// of its services.
type service struct{ cloud, name string }

// services are the services of the types above. The Kubernetes types have
// none: one API server serves every kind of a cluster.
var services = map[string]service{
	S3Bucket: {"aws", "s3"}, S3BucketReplication: {"aws", "s3"},
	IAMRole: {"aws", "iam"}, IAMRolePolicy: {"aws", "iam"},
	DynamoDBTable: {"aws", "dynamodb"}, DynamoDBReplica: {"aws", "dynamodb"},
	Route53Zone: {"aws", "route53"}, Route53HealthCheck: {"aws", "route53"}, Route53Record: {"aws", "route53"},
	SSMParameter:        {"aws", "ssm"},
	OrganizationsPolicy: {"aws", "organizations"}, OrganizationsPolicyAttachment: {"aws", "organizations"},
	BackupVault: {"aws", "backup"}, BackupPlan: {"aws", "backup"}, BackupSelection: {"aws", "backup"},
	EC2CapacityReservation: {"aws", "ec2"}, LaunchTemplate: {"aws", "ec2"},
	AutoScalingGroup: {"aws", "autoscaling"},
	K8sNamespace:     {"k8s", ""}, K8sConfigMap: {"k8s", ""}, K8sDeployment: {"k8s", ""}, K8sService: {"k8s", ""},
	K8sPersistentVolumeClaim: {"k8s", ""}, K8sResourceQuota: {"k8s", ""}, K8sPriorityClass: {"k8s", ""},
}

// globalServices serve a whole account from one endpoint: their quotas do
// not grow with the regions used.
var globalServices = map[string]bool{"aws:route53": true, "aws:iam": true, "aws:organizations": true}

// LimitKey names the quota the requests for a primitive of type typ in
// region count against: "aws:s3:us-east-1" (a service in a region),
// "aws:route53" (a service global to the account), "k8s:REGION" (the
// cluster that stands for the region). A type not declared here is its own
// service: "TYPE:REGION".
func LimitKey(typ, region string) string {
	s, ok := services[typ]
	if !ok {
		return typ + ":" + region
	}
	return ServiceLimitKey(s.cloud, s.name, region)
}

// ServiceLimitKey is LimitKey for a request to a service of a cloud in a
// region, as a client that sends it knows them ("" service: the cloud's
// endpoint in that region serves everything).
func ServiceLimitKey(cloud, service, region string) string {
	switch {
	case service == "":
		return cloud + ":" + region
	case globalServices[cloud+":"+service]:
		return cloud + ":" + service
	}
	return cloud + ":" + service + ":" + region
}

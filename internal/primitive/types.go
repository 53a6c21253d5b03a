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

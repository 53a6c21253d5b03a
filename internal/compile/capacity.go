package compile

// Primitive types of capacity reservations.
const (
	EC2CapacityReservation = "aws_ec2_capacity_reservation"
	LaunchTemplate         = "aws_launch_template"
	AutoScalingGroup       = "aws_autoscaling_group"
)
